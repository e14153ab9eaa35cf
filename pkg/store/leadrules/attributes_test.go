package leadrules

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// EncodeAttributes writes exactly what json.Marshal writes, and fails where it fails.
func TestEncodeAttributesIsJSONMarshal(t *testing.T) {
	t.Parallel()
	for _, attrs := range []map[string]json.RawMessage{
		nil,
		{},
		{"b": json.RawMessage(`"x"`), "a": json.RawMessage(`1`), "c": json.RawMessage(`{"k":[1,2,{"z":null}]}`)},
		{"utm": json.RawMessage(`"a \"quoted\" \\ value"`), "n": json.RawMessage(`-1.5e3`), "t": json.RawMessage(`true`)},
		{"html": json.RawMessage(`"<b>&"`)},
		{"sep": json.RawMessage("\"a\u2028b\"")},
		{"dash": json.RawMessage(`"a – b"`)},
		{"hindi": json.RawMessage(`"नमस्ते"`)},
		{"spaced": json.RawMessage(`{ "a" : 1 }`)},
		{"space in string": json.RawMessage(`"a b"`)},
		{"key<": json.RawMessage(`1`)},
		{"ключ": json.RawMessage(`1`)},
		{"quote\"key": json.RawMessage(`1`)},
		{"nil": nil},
	} {
		want, wantErr := json.Marshal(attrs)
		if len(attrs) == 0 {
			want = []byte("{}")
		}
		got, err := EncodeAttributes(attrs)
		require.NoError(t, wantErr)
		require.NoError(t, err)
		require.Equal(t, string(want), got)
	}
	for _, bad := range []json.RawMessage{json.RawMessage(`{`), json.RawMessage(``), json.RawMessage(`"open`), json.RawMessage(`1 2`)} {
		attrs := map[string]json.RawMessage{"k": bad}
		_, wantErr := json.Marshal(attrs)
		_, err := EncodeAttributes(attrs)
		require.Error(t, wantErr, "%q", bad)
		require.Error(t, err, "%q", bad)
	}
}

func FuzzEncodeAttributes(f *testing.F) {
	f.Add("k", []byte(`"v"`), "k2", []byte(`{"a":[1,"<"]}`))
	f.Add("a b", []byte(` 1`), "", []byte(`"\u2028"`))
	f.Fuzz(func(t *testing.T, k1 string, v1 []byte, k2 string, v2 []byte) {
		attrs := map[string]json.RawMessage{k1: v1, k2: v2}
		want, wantErr := json.Marshal(attrs)
		got, err := EncodeAttributes(attrs)
		if wantErr != nil {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		require.Equal(t, string(want), got)
	})
}
