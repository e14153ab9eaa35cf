package testkit

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// DecodeNumbers decodes data into v the way the worker decodes an event (jsonscan.Decode, which FuzzDecodeDocument holds to this):
// with a json.Decoder and UseNumber, so numbers stay json.Number and an id or an epoch time keeps
// every digit. Like the worker, it reads the first JSON value only and ignores what follows it,
// which is why tests that compare with the worker use it rather than json.Unmarshal.
func DecodeNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// Document returns data decoded by DecodeNumbers as a JSON object, failing the test when it is
// not one.
func Document(t testing.TB, data []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	require.NoError(t, DecodeNumbers(data, &doc), "%.200s", data)
	return doc
}
