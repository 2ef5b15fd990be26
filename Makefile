# dmflow — the two commands the README promises:
#   make run    runs the bot locally (bbolt + built-in Instagram sandbox)
#   make test   runs every test (provisions PostgreSQL/Chromium on 127.0.0.1 when missing)
.PHONY: run test build bench fuzz lint

run:
	go run ./cmd/dmflow serve --flows examples/lead-capture

test:
	scripts/test.sh

build:
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/dmflow ./cmd/dmflow

bench:
	go test -run='^$$' -bench=. -benchmem ./engine/ ./store/bolt/ ./adapters/instagram/ ./bot/

lint:
	gofmt -l . && go vet ./...
