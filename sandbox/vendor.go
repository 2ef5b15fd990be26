package sandbox

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
)

// mermaidGz is the vendored Mermaid build (static/vendor/mermaid.min.js.gz,
// see static/vendor/README.md), stored compressed.
const mermaidGz = "static/vendor/mermaid.min.js.gz"

// serveMermaid serves the vendored Mermaid: the gzip file as is to
// browsers that accept gzip (all of them), decompressed to the rest.
func serveMermaid(w http.ResponseWriter, r *http.Request) {
	f, err := static.Open(mermaidGz)
	if err != nil {
		http.Error(w, "sandbox: mermaid is not embedded", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Vary", "Accept-Encoding")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = io.Copy(w, f)
		return
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		http.Error(w, "sandbox: mermaid: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = io.Copy(w, zr)
}
