//go:build ignore

// Zero-install bootstrap: `go run mage.go <target>` runs Vigil's Magefile with
// the mage version pinned in go.mod, on a machine that has only Go and Node.
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
