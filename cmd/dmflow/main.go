// Command dmflow is the single dmflow binary: it checks, tests, draws and
// chats with flow files, and serves the bot. Its commands live in package
// cli; a program with its own expression helpers and Go actions builds the
// same binary with cli.Options (see docs/integrations.md).
package main

import (
	"os"

	"github.com/dmflow/dmflow/cli"
)

func main() { os.Exit(cli.Main(os.Args, cli.Options{})) }
