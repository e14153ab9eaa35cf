package accept_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

func TestForAccount(t *testing.T) {
	t.Parallel()
	acme := &account.Account{ID: "acme", ClientIDs: []string{"c-1", "c-2"}}
	anyClient := &account.Account{ID: account.Default}
	head := func(clientID string) accept.Accepted {
		return accept.Accepted{Head: pipeline.Head{Type: "x", ID: "1", ClientID: clientID}}
	}

	require.Nil(t, accept.ForAccount(head("c-2"), acme), "one of the account's client ids")
	require.Nil(t, accept.ForAccount(head("other"), anyClient), "an account without client ids takes any")
	require.Nil(t, accept.ForAccount(head(""), anyClient), "an account without client ids takes one without a client id")

	rej := accept.ForAccount(head("c-9"), acme)
	require.NotNil(t, rej)
	require.Equal(t, http.StatusUnprocessableEntity, rej.Status)
	require.Equal(t, accept.WrongAccount, rej.Code)
	require.True(t, rej.Keep, "kept in quarantine for replay")
	require.Contains(t, rej.Message, `"c-9"`, "names the client id received")
	require.Contains(t, rej.Message, `"acme"`, "names the URL's account")
	require.Contains(t, rej.Message, "ingestctl accounts show", "says where the right URL is found")

	rej = accept.ForAccount(head(""), acme)
	require.NotNil(t, rej, "a missing client id is none of the account's")
	require.Contains(t, rej.Message, "no payload.client_id")

	rej = accept.ForAccount(head(strings.Repeat("é", 200)), acme)
	require.NotNil(t, rej)
	require.Less(t, len(rej.Message), 700, "a long client id is clipped in the answer")
}
