// Command broken does not compile: publishing it must show the compiler's message.
package main

func main() {
	var n int = "not a number"
	_ = n
}
