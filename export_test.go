package pipeline

// Unexported functions the external tests (package event_test, which may import testkit) check.
var (
	ScanHead      = scanHead
	ParseHeadSlow = parseHeadSlow
	LastMember    = lastMember
	Nesting       = nesting
)
