// Package tools pins the developer tools the Makefile runs (`go tool -modfile=...`), in
// a module of their own so that their dependencies stay out of tugboat's.
package tools
