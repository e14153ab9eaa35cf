// Package envflag is the one way our programs read settings: a flag whose default comes from an
// environment variable, the flag winning, and the variable named in the flag's help. cmd/ingest,
// cmd/worker and cmd/console (package app) and ingestctl (package admin) all use it, so a setting
// behaves the same wherever it appears: NATS_URL, DATA_DIR and DATABASE_URL are read alike.
package envflag

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
)

// LookupEnv reads one environment variable: os.LookupEnv in the binaries, a map in tests.
type LookupEnv func(key string) (string, bool)

// FlagSet is a flag.FlagSet (ContinueOnError) whose defaults come from environment variables. A
// bad env value (a bool that is not true or false, …) is collected, not fatal at once, so Parse
// reports every one of them, naming the variable rather than the flag.
type FlagSet struct {
	*flag.FlagSet
	env  LookupEnv
	errs []error
}

// New returns an empty FlagSet named name, reading the environment through env.
func New(name string, env LookupEnv) *FlagSet {
	return &FlagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), env: env}
}

// Parse reports bad env values first (the flags were defined with them as defaults, so parsing
// on would hide them), then parses args.
func (f *FlagSet) Parse(args []string) error {
	if len(f.errs) > 0 {
		return errors.Join(f.errs...)
	}
	return f.FlagSet.Parse(args)
}

// value returns the env value for key, when key is set and not empty. emptyOK also returns a set
// but empty value (for settings where empty means "off"). An empty key means flag only.
func (f *FlagSet) value(key string, emptyOK bool) (string, bool) {
	if key == "" {
		return "", false
	}
	v, ok := f.env(key)
	return v, ok && (v != "" || emptyOK)
}

// help appends the env name to a flag's help, so -h shows both names of a setting.
func help(key, text string) string {
	if key == "" {
		return text
	}
	return text + " (env " + key + ")"
}

// StringEnv defines a string flag -name with env key as its default when set and not empty (an
// empty value falls back to def, for settings where empty is not a useful value).
func (f *FlagSet) StringEnv(p *string, name, key, def, usage string) {
	if v, ok := f.value(key, false); ok {
		def = v
	}
	f.StringVar(p, name, def, help(key, usage))
}

// StringEnvEmptyOK is StringEnv for settings where an empty env value means "off", so an operator can
// turn a default-on setting off from the environment.
func (f *FlagSet) StringEnvEmptyOK(p *string, name, key, def, usage string) {
	if v, ok := f.value(key, true); ok {
		def = v
	}
	f.StringVar(p, name, def, help(key, usage))
}

// BoolEnv defines a bool flag; the env value must be one strconv.ParseBool accepts.
func (f *FlagSet) BoolEnv(p *bool, name, key string, def bool, usage string) {
	if v, ok := f.value(key, false); ok {
		if b, err := strconv.ParseBool(v); err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: want true or false", key, v))
		} else {
			def = b
		}
	}
	f.BoolVar(p, name, def, help(key, usage))
}

// Int64Env defines an int64 flag; the env value must be a whole number (no units: 1MB is refused).
func (f *FlagSet) Int64Env(p *int64, name, key string, def int64, usage string) {
	if v, ok := f.value(key, false); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: want a whole number", key, v))
		} else {
			def = n
		}
	}
	f.Int64Var(p, name, def, help(key, usage))
}

// DurationEnv defines a time.Duration flag; the env value is parsed by time.ParseDuration.
func (f *FlagSet) DurationEnv(p *time.Duration, name, key string, def time.Duration, usage string) {
	if v, ok := f.value(key, false); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: want a duration such as 2s or 500ms", key, v))
		} else {
			def = d
		}
	}
	f.DurationVar(p, name, def, help(key, usage))
}
