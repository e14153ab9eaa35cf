package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
)

// MAPPING_FILE changes what the worker stores: the example mapping decodes registration_form into
// an attribute and adds the meeting status for widget_new_conversation only.
func TestMappingFileShapesTheLead(t *testing.T) {
	t.Parallel()
	example, err := filepath.Abs("../mapping/testdata/mapping.example.yaml")
	require.NoError(t, err)
	tb := startIngest(t, t.TempDir(), map[string]string{"WEBHOOK_SECRETS": testSecret, "MAPPING_FILE": example})
	tb.post(t, testkit.Fixture(t))
	st := tb.openStore(t)
	awaitEvents(t, st, 1)
	l, err := st.LeadByEmail(context.Background(), account.Default, "prakashm@athenabpo.in")
	require.NoError(t, err)
	require.Equal(t, "Prakash Mudhaliyar", l.Name)
	require.Equal(t, "Faridabad", l.City)
	require.JSONEq(t, `"scheduled"`, string(l.Attributes["meeting_status"]))
	form := l.Attributes["registration_form"]
	require.NotEmpty(t, form)
	require.Equal(t, byte('['), form[0], "decoded JSON, not a string: %s", form)
	require.JSONEq(t, `"N1"`, string(l.Attributes["extra1"]), "unmapped people_detail fields stay in attributes")
}

// A bad mapping file stops the program before it accepts anything, naming the file, the line and
// the field.
func TestBadMappingFileRefusesToStart(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "mapping.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: 1\nlead:\n  name: payload.people_detail.name\n  nickname: payload.people_detail.extra1\n"), 0o600))
	for _, prog := range []string{"ingest", "worker"} {
		t.Run(prog, func(t *testing.T) {
			t.Parallel()
			var err error
			switch prog {
			case "ingest":
				m := ingestapp.New()
				m.Env, m.Stdout, m.Stderr = envOf(map[string]string{"WEBHOOK_SECRETS": testSecret, "MAPPING_FILE": bad}), &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
				require.NoError(t, m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-embedded-nats-addr", "", "-console-addr", ""}))
				err = m.Run(context.Background())
				require.NoError(t, m.Close())
			case "worker":
				js := testkit.StartJetStream(t, testkit.WithListen("127.0.0.1:0"))
				w := workerapp.New()
				w.Env, w.Stderr = envOf(map[string]string{"MAPPING_FILE": bad}), &testkit.SyncBuffer{}
				require.NoError(t, w.ParseFlags([]string{"-nats-url", js.Server.ClientURL(), "-db", filepath.Join(t.TempDir(), "l.db"), "-addr", "127.0.0.1:0"}))
				err = w.Run(context.Background())
				require.NoError(t, w.Close())
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), bad)
			require.Contains(t, err.Error(), "line 4")
			require.Contains(t, err.Error(), "nickname")
		})
	}
}
