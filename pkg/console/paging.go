package console

import (
	"net/url"
	"strings"
)

// The leads pages go both ways with the keyset cursor the store has for "next": each page's
// link carries the cursors of the pages before it (prev, comma-separated, oldest first; the first
// page has no cursor and is not in it). Next pushes this page's cursor, Previous pops the last.
// The stack is bounded: past maxPrevCursors pages its oldest entries are dropped, and Previous
// from the oldest one kept goes to the first page, which is always right to offer.

// maxPrevCursors bounds the prev stack, so a link stays well under any URL length limit.
const maxPrevCursors = 100

// pageLinks are the leads page's Previous and Next links; "" when there is none.
type pageLinks struct {
	Prev, Next string
	// First is a link to the first page, set when Previous does not go there already.
	First string
}

// leadsPageLinks computes the links of the page that was listed from cursor (empty: the first
// page), reached over the stack prev, whose store answer continues at next (empty: last page).
// base holds what every link keeps (the search q, the page size limit).
func leadsPageLinks(base url.Values, cursor, prev, next string) pageLinks {
	var stack []string
	for _, c := range strings.Split(prev, ",") {
		if c = strings.TrimSpace(c); c != "" {
			stack = append(stack, c)
		}
	}
	var l pageLinks
	if next != "" && cursor != next {
		ahead := stack
		if cursor != "" {
			ahead = append(append([]string(nil), stack...), cursor)
		}
		if len(ahead) > maxPrevCursors {
			ahead = ahead[len(ahead)-maxPrevCursors:]
		}
		l.Next = leadsURL(base, next, ahead)
	}
	if cursor != "" {
		l.Prev = leadsURL(base, "", nil)
		if len(stack) > 0 {
			l.Prev = leadsURL(base, stack[len(stack)-1], stack[:len(stack)-1])
			l.First = leadsURL(base, "", nil)
		}
	}
	return l
}

// leadsURL is the leads page of base from cursor, with the stack prev.
func leadsURL(base url.Values, cursor string, prev []string) string {
	v := url.Values{}
	for k, vs := range base {
		if len(vs) > 0 && vs[0] != "" {
			v.Set(k, vs[0])
		}
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if len(prev) > 0 {
		v.Set("prev", strings.Join(prev, ","))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}
