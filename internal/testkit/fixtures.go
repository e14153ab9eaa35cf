package testkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// FixtureID is the payload.id of the widget_new_conversation fixture.
const FixtureID = "dc60de93-d726-43cc-ad06-9cc7544cb8e5"

// FixtureClientID is the payload.client_id of the widget_new_conversation fixture: the
// SaleAssist account it was sent for.
const FixtureClientID = "74c28198-7762-40d3-8925-5cc00dc99e98"

const (
	fixtureName    = "widget_new_conversation.json"
	seedSampleName = "seed_sample.json"
)

// FixturesDir is the repository's testdata/fixtures, found from this file's location so that it
// does not depend on the test's working directory (the package's own directory).
func FixturesDir(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	return filepath.Join(root, "testdata", "fixtures")
}

// FixturePath is SaleAssist's sample widget_new_conversation webhook, repaired (the seed page's
// copy lacks a comma).
func FixturePath(t testing.TB) string {
	t.Helper()
	return filepath.Join(FixturesDir(t), fixtureName)
}

// Fixture returns the file at FixturePath. It fails the test unless the fixture names FixtureID
// exactly once, as its payload.id, which is what WithID replaces.
func Fixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(FixturePath(t))
	require.NoError(t, err)
	require.Equal(t, 1, bytes.Count(b, []byte(FixtureID)), "the fixture must name its payload.id exactly once")
	require.Contains(t, string(b), `"id": "`+FixtureID+`"`, "the fixture's payload.id")
	return b
}

// WithID returns fixture (as Fixture returned it) with payload.id set to id.
func WithID(fixture []byte, id string) []byte {
	return bytes.Replace(fixture, []byte(`"`+FixtureID+`"`), []byte(`"`+id+`"`), 1)
}

// SharedFixturesDir is the team's shared fixture directory beside the repository
// (../shared/fixtures), from which testdata/fixtures holds copies. It is present on the team's
// machines and in CI and absent in a bare clone, so ok is false when it does not exist; any
// other failure to look fails the test.
func SharedFixturesDir(t testing.TB) (dir string, ok bool) {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	dir = filepath.Join(root, "..", "shared", "fixtures")
	_, err = os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return dir, false
	}
	require.NoError(t, err)
	return dir, true
}

// FixtureDocument returns the fixture with payload.id set to id, decoded as the worker decodes
// it (DecodeNumbers), after edit (when not nil) changed it: env is the whole document, payload
// its "payload" and person payload.people_detail. A test varies the sample this way rather than
// keep a file per variant.
func FixtureDocument(t testing.TB, id string, edit func(env, payload, person map[string]any)) map[string]any {
	t.Helper()
	env := Document(t, WithID(Fixture(t), id))
	if edit != nil {
		payload := env["payload"].(map[string]any)
		edit(env, payload, payload["people_detail"].(map[string]any))
	}
	return env
}

// EditFixture returns FixtureDocument(t, id, edit) encoded as JSON: a webhook body. Numbers are
// written back as they were sent (json.Number).
func EditFixture(t testing.TB, id string, edit func(env, payload, person map[string]any)) []byte {
	t.Helper()
	b, err := json.Marshal(FixtureDocument(t, id, edit))
	require.NoError(t, err)
	return b
}

// SeedSample returns the integration page's own copy of the sample, byte for byte: it is not
// valid JSON (a comma is missing after "widget_location_source").
func SeedSample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(FixturesDir(t), seedSampleName))
	require.NoError(t, err)
	return b
}

// repoRoot is the directory holding go.mod: two levels above this file, or, when the file's
// recorded path is not usable (a -trimpath build), the nearest one above the working directory.
func repoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Join(filepath.Dir(file), "..", "..")
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testkit: no go.mod above the working directory")
		}
		dir = parent
	}
}
