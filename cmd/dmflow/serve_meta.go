package main

import "net/http"

func (s *server) personalRoutes(mux *http.ServeMux) {}
