package ctl

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// usageError is a command line that does not make sense (exit 2); usage, when set, is the
// command's own, printed after it instead of ingestctl's.
type usageError struct{ msg, usage string }

func (u usageError) Error() string { return u.msg }

func (u usageError) usageOr(all string) string {
	if u.usage != "" {
		return u.usage
	}
	return all
}

// helpAsked is -h or -help: the command's usage is the answer (on stdout, exit 0).
type helpAsked struct{ usage string }

func (h helpAsked) Error() string { return "help asked" }

// flags is one command's flag.FlagSet, with what its usage says: the command's name, the
// synopsis of its arguments and what it does.
type flags struct {
	*flag.FlagSet
	name, synopsis, about string
	required              [][2]string // flags parse refuses to go without: name, and why
}

func newFlags(name, synopsis, about string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a parse error comes back as a usageError, which prints it
	return &flags{FlagSet: fs, name: name, synopsis: synopsis, about: about}
}

// require makes flag name one the command cannot go without; why completes the error.
func (f *flags) require(name, why string) { f.required = append(f.required, [2]string{name, why}) }

// usage is the command's own usage: what it takes, what it does, and its flags.
func (f *flags) usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: ingestctl %s %s\n\n%s\n", f.name, f.synopsis, f.about)
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nflags (-flag or --flag, before or after the arguments):\n")
		f.SetOutput(&b)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
	return b.String()
}

// fail is a usage error of the command, printed with its usage.
func (f *flags) fail(format string, a ...any) error {
	return usageError{fmt.Sprintf(format, a...), f.usage()}
}

// parse parses args, its flags wherever they stand among the other arguments, and returns the
// others: at most most of them.
func (f *flags) parse(args []string, most int) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpAsked{f.usage()}
			}
			return nil, f.fail("%s: %v", f.name, err)
		}
		if f.NArg() == 0 {
			break
		}
		pos = append(pos, f.Arg(0))
		args = f.Args()[1:]
	}
	if len(pos) > most {
		return nil, f.fail("%s: unexpected argument %q", f.name, pos[most])
	}
	for _, r := range f.required {
		if !f.visited(r[0]) {
			return nil, f.fail("%s needs --%s %s", f.name, r[0], r[1])
		}
	}
	return pos, nil
}

// visited reports whether the command line set flag name.
func (f *flags) visited(name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}
