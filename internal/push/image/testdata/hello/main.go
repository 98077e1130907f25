// Command hello is the tiny main package the image tests publish and then run.
package main

import (
	"fmt"
	"os"
	"runtime"
)

// greeting is set by the build tag hellotag (tag.go) and the linker (-X main.suffix).
var greeting, suffix = "hello", ""

func main() {
	fmt.Printf("%s from tugboat on %s/%s %v%s\n", greeting, runtime.GOOS, runtime.GOARCH, os.Args[1:], suffix)
}
