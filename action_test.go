package dmflow_test

import (
	"encoding/json"
	"testing"

	"github.com/dmflow/dmflow"
)

// An action record keeps its URL and headers as segments; a record written
// before segments (a plain string) reads as literal text, whose ${NAME}
// is then never resolved.
func TestHTTPRequestText(t *testing.T) {
	var r dmflow.HTTPRequest
	in := `{"method":"GET","url":[{"secret":"API"},{"lit":"/orders/"},{"value":"%24%7BKEY%7D"}],"headers":{"Authorization":[{"lit":"Bearer "},{"secret":"TOKEN"}]}}`
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if r.URL.String() != "${API}/orders/%24%7BKEY%7D" || r.Headers["Authorization"].String() != "Bearer ${TOKEN}" || r.URL[0].Secret != "API" {
		t.Fatalf("decoded %+v", r)
	}
	out, err := json.Marshal(r)
	if err != nil || string(out) != in {
		t.Fatalf("round trip %s, %v", out, err)
	}
	var legacy dmflow.HTTPRequest
	if err := json.Unmarshal([]byte(`{"method":"GET","url":"${API}/x","headers":{"A":"${TOKEN}"}}`), &legacy); err != nil {
		t.Fatal(err)
	}
	if len(legacy.URL) != 1 || legacy.URL[0] != (dmflow.Segment{Lit: "${API}/x"}) || legacy.Headers["A"][0] != (dmflow.Segment{Lit: "${TOKEN}"}) {
		t.Fatalf("legacy record %+v", legacy)
	}
}
