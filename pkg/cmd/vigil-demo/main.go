// Command vigil-demo runs Vigil locally (`go run mage.go run` builds the
// plugin and starts it from the repository root): see standin.Demo.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil/vigil-anomaly-datasource/pkg/standin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := os.Getwd()
	if err == nil {
		err = standin.Demo(ctx, root, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vigil-demo:", err)
		os.Exit(1)
	}
}
