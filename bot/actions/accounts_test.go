package actions_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
)

// TestHTTPAccountSecrets: a call's ${NAME} resolves from its account's
// own secrets first, then Secrets and LookupEnv.
func TestHTTPAccountSecrets(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	own := map[string]map[string]string{"shop": {"API_KEY": "shop-key"}}
	h := &actions.HTTP{
		Secrets:        map[string]string{"API_KEY": "deployment-key"},
		AccountSecrets: func(account, name string) (string, bool) { v, ok := own[account][name]; return v, ok },
	}
	for _, tc := range []struct{ account, want string }{
		{"shop", "Bearer shop-key"}, {"salon", "Bearer deployment-key"},
	} {
		c := call("GET", srv.URL)
		c.Key = dmflow.SessionKey{Account: tc.account, User: "u"}
		c.HTTP.Body = nil
		c.HTTP.Headers = map[string]dmflow.Text{"Authorization": text("Bearer ", "${API_KEY}")}
		if res := h.Run(context.Background(), c); res.Outcome != dmflow.OutcomeOK {
			t.Fatalf("%s: result %+v", tc.account, res)
		}
		if got != tc.want {
			t.Errorf("%s: Authorization %q, want %q", tc.account, got, tc.want)
		}
	}
}
