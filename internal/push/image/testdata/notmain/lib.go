// Package notmain is a library: publishing it must be refused.
package notmain

// Answer is here so that the package is not empty.
const Answer = 42
