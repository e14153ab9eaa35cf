package console

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"
	_ "time/tzdata" // CONSOLE_TZ works on hosts and images without a zoneinfo directory
)

// ZoneEnv names the setting of the operator's time zone, for messages.
const ZoneEnv = "CONSOLE_TZ"

// ParseZone reads CONSOLE_TZ: an IANA zone name such as Asia/Kolkata; empty is UTC. The pages
// show times in it (UTC on hover); the JSON API stays UTC whatever it is. A name that is not a
// zone is refused at start rather than shown as UTC without a word.
func ParseZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" || strings.EqualFold(name, "UTC") {
		return time.UTC, nil
	}
	if strings.EqualFold(name, "local") {
		return nil, fmt.Errorf("%s=%q: name the zone (an IANA name such as Asia/Kolkata or Europe/London), so the console shows the same times on every host", ZoneEnv, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%s=%q is not a time zone: use an IANA name such as Asia/Kolkata, America/New_York or UTC (see `timedatectl list-timezones`): %w", ZoneEnv, name, err)
	}
	return loc, nil
}

// clock formats times for the pages, in the operator's zone.
type clock struct{ loc *time.Location }

// zone is the zone's short name now, for column headings ("IST", "UTC").
func (c clock) zone() string {
	name, _ := time.Now().In(c.loc).Zone()
	return name
}

// local is t in the operator's zone, as text.
func (c clock) local(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(c.loc).Format("2006-01-02 15:04:05 MST")
}

// html is t as a <time> element: the operator's zone shown, UTC in the title (on hover) and in
// datetime. Every piece is formatted from the time itself and escaped.
func (c clock) html(t time.Time) template.HTML {
	if t.IsZero() {
		return "–"
	}
	u := t.UTC()
	return template.HTML(`<time datetime="` + html.EscapeString(u.Format(time.RFC3339)) + `" title="` +
		html.EscapeString(u.Format("2006-01-02 15:04:05")+" UTC") + `">` + html.EscapeString(c.local(t)) + `</time>`)
}

// minute is a minute for the chart's hover labels: in the operator's zone, and in UTC too
// unless that is the zone.
func (c clock) minute(t time.Time) string {
	local := t.In(c.loc).Format("15:04 MST")
	if c.loc == time.UTC {
		return local
	}
	return local + " (" + t.UTC().Format("15:04") + " UTC)"
}
