// Package cli holds tugboat's cobra commands, one file per verb_noun. Commands parse
// flags into typed options and call the packages that do the work; they own only
// output: tables or JSON, and progress on a terminal.
package cli
