// Command hello is the tiny main package the image tests publish and then run.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Printf("hello from tugboat on %s/%s %v\n", runtime.GOOS, runtime.GOARCH, os.Args[1:])
}
