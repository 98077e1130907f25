//go:build hellotag

package main

// The build tag hellotag, which the image tests pass as BuildTags, changes the greeting.
func init() { greeting = "hello (tagged)" }
