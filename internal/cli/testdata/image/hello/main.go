// Command hello is what the CLI tests publish with `tugboat image publish`.
package main

import "fmt"

func main() {
	fmt.Println("hello from tugboat")
}
