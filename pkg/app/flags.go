// Package app wires the pipeline's programs: Ingest (cmd/ingest, with standalone mode) and Worker
// (cmd/worker). Each is a Main with ParseFlags, Run and Close, so tests run the real program on
// :0 exactly as the binaries do, and the cmd/ mains stay a few lines long.
package app

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
)

// LookupEnv reads one environment variable; os.LookupEnv in the binaries, a map in tests.
type LookupEnv func(key string) (string, bool)

// flagSet is a flag.FlagSet whose defaults come from environment variables, so every setting has
// a flag and an env name, the flag winning. Bad env values are collected and reported by parse.
type flagSet struct {
	*flag.FlagSet
	env  LookupEnv
	errs []error
}

func newFlagSet(name string, env LookupEnv) *flagSet {
	return &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), env: env}
}

// parse parses args after the env defaults were applied, reporting bad env values first.
func (f *flagSet) parse(args []string) error {
	if len(f.errs) > 0 {
		return errors.Join(f.errs...)
	}
	return f.Parse(args)
}

// value returns the env value for key, when key is set and not empty. emptyOK also returns a set
// but empty value (for settings where empty means "off").
func (f *flagSet) value(key string, emptyOK bool) (string, bool) {
	if key == "" {
		return "", false
	}
	v, ok := f.env(key)
	return v, ok && (v != "" || emptyOK)
}

func help(key, text string) string {
	if key == "" {
		return text
	}
	return text + " (env " + key + ")"
}

func (f *flagSet) str(p *string, name, key, def, text string) {
	if v, ok := f.value(key, false); ok {
		def = v
	}
	f.StringVar(p, name, def, help(key, text))
}

// strEmptyOK is str for settings where an empty env value means "off".
func (f *flagSet) strEmptyOK(p *string, name, key, def, text string) {
	if v, ok := f.value(key, true); ok {
		def = v
	}
	f.StringVar(p, name, def, help(key, text))
}

func (f *flagSet) boolean(p *bool, name, key string, def bool, text string) {
	if v, ok := f.value(key, false); ok {
		if b, err := strconv.ParseBool(v); err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: want true or false", key, v))
		} else {
			def = b
		}
	}
	f.BoolVar(p, name, def, help(key, text))
}

func (f *flagSet) integer(p *int64, name, key string, def int64, text string) {
	if v, ok := f.value(key, false); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: want a whole number", key, v))
		} else {
			def = n
		}
	}
	f.Int64Var(p, name, def, help(key, text))
}

func (f *flagSet) duration(p *time.Duration, name, key string, def time.Duration, text string) {
	if v, ok := f.value(key, false); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: want a duration such as 2s or 500ms", key, v))
		} else {
			def = d
		}
	}
	f.DurationVar(p, name, def, help(key, text))
}
