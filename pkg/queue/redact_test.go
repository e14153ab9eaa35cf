package queue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                   "",
		"nats://127.0.0.1:4222":              "nats://127.0.0.1:4222",
		"nats://app:s3cret@127.0.0.1:4222":   "nats://app:xxxxx@127.0.0.1:4222",
		"nats://t0ken@127.0.0.1:4222":        "nats://xxxxx@127.0.0.1:4222",
		"app:s3cret@127.0.0.1:4222":          "app:xxxxx@127.0.0.1:4222",
		"nats://app:p@ss:w@rd@10.0.0.1:4222": "nats://app:xxxxx@10.0.0.1:4222",
		"nats://a:x@h1:4222, nats://tok@h2:4222,nats://h3:4222": "nats://a:xxxxx@h1:4222, nats://xxxxx@h2:4222,nats://h3:4222",
		"ws://tok@h:80/path@x":               "ws://xxxxx@x",
		"nats://app:pa/ss+w=@127.0.0.1:4222": "nats://app:xxxxx@127.0.0.1:4222",
		"nats://app:@127.0.0.1:4222":         "nats://app:xxxxx@127.0.0.1:4222",
	} {
		require.Equal(t, want, RedactURL(in), "RedactURL(%q)", in)
	}
}
