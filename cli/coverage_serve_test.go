package cli

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeStartFailures: serve exits 2 for what the configuration gets
// wrong and 1 for what the machine refuses, saying which.
func TestServeStartFailures(t *testing.T) {
	graph := newGraph(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	noToken := instagramEnv(graph)
	delete(noToken, "INSTAGRAM_ACCESS_TOKEN")
	flow := writeFile(t, "greet.yaml", greetFlow)
	for _, tc := range []struct {
		name string
		env  envMap
		args []string
		code int
		want string
	}{
		{"no access token anywhere", noToken, []string{"--flows", flow}, exitUsage,
			"no Instagram access token: run 'dmflow auth' (stores one in the store) or set INSTAGRAM_ACCESS_TOKEN"},
		{"address in use", instagramEnv(graph), []string{"--flows", flow, "--addr", busy.Addr().String()}, exitFail,
			"dmflow serve: listen " + busy.Addr().String()},
		{"invalid flows", instagramEnv(graph), []string{"--flows", writeFile(t, "bad.yaml", "flow: x\nstates: 3\n")}, exitUsage, "bad.yaml"},
		{"an argument", envMap{}, []string{"extra"}, exitUsage, `unexpected argument "extra"`},
		{"bbolt file in a missing directory", envMap{}, []string{"--flows", flow, "--db", filepath.Join(t.TempDir(), "missing", "d.db")}, exitFail,
			"dmflow serve: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--db", filepath.Join(t.TempDir(), "d.db"), "--addr", "127.0.0.1:0"}, tc.args...)
			code, out, errs := runCmd(t, tc.env, args...)
			if code != tc.code || !strings.Contains(errs, tc.want) || strings.Contains(out, "listening on") {
				t.Fatalf("exit %d (want %d), want %q in stderr:\n%s\nstdout:\n%s", code, tc.code, tc.want, errs, out)
			}
		})
	}
}

// TestServeSandboxPublicAddress: a sandbox on every interface (with its
// public token) tells the operator a local address to open, with the token.
func TestServeSandboxPublicAddress(t *testing.T) {
	srv := startServe(t, envMap{"DMFLOW_SANDBOX_PUBLIC_TOKEN": "0123456789abcdef0123"},
		"--addr", "0.0.0.0:0", "--db", filepath.Join(t.TempDir(), "d.db"), "--flows", writeFile(t, "greet.yaml", greetFlow))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	want := "dmflow: sandbox mode on a public address: open http://127.0.0.1:" + port + "/sandbox/?token=<--sandbox-public-token> once per browser"
	if !strings.Contains(srv.Out.String(), want) {
		t.Fatalf("want %q in:\n%s", want, srv.Out)
	}
}
