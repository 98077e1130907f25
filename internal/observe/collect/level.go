package collect

import (
	"encoding/json"
	"strings"
)

// Log levels of ContainerLogV2.LogLevel, as Container Insights names them.
const (
	LevelCritical = "CRITICAL"
	LevelError    = "ERROR"
	LevelWarning  = "WARNING"
	LevelInfo     = "INFO"
	LevelDebug    = "DEBUG"
	LevelTrace    = "TRACE"
	LevelUnknown  = "UNKNOWN"
)

// levelWords maps the lower-case spellings of a level seen in logs to the level.
var levelWords = map[string]string{
	"critical": LevelCritical, "crit": LevelCritical, "fatal": LevelCritical, "panic": LevelCritical,
	"emerg": LevelCritical, "emergency": LevelCritical, "alert": LevelCritical, "dpanic": LevelCritical,
	"error": LevelError, "err": LevelError, "eror": LevelError,
	"warning": LevelWarning, "warn": LevelWarning, "wrn": LevelWarning,
	"info": LevelInfo, "information": LevelInfo, "informational": LevelInfo, "notice": LevelInfo, "inf": LevelInfo,
	"debug": LevelDebug, "dbg": LevelDebug,
	"trace": LevelTrace, "trc": LevelTrace,
}

// ParseMessage returns a log message as ContainerLogV2.LogMessage holds it (the parsed
// object when the message is a JSON object, else the string) and its level: from a
// JSON `level`, `lvl` or `severity` key when there is one, else inferred from the text.
func ParseMessage(msg string) (any, string) {
	if len(msg) > 1 && msg[0] == '{' {
		var obj map[string]any
		if err := json.Unmarshal([]byte(msg), &obj); err == nil {
			for _, k := range []string{"level", "lvl", "severity"} {
				if v, ok := obj[k].(string); ok {
					if l, ok := levelWords[strings.ToLower(v)]; ok {
						return obj, l
					}
					return obj, LevelUnknown
				}
			}
			return obj, InferLevel(msg)
		}
	}
	return msg, InferLevel(msg)
}

// messageValue is ParseMessage for a message that may have been cut at the cap: a
// truncated one is stored as text ending in TruncatedSuffix (its JSON, if any, is
// broken anyway), with the level read from its head.
func messageValue(msg string, truncated bool) (any, string) {
	if truncated {
		return msg + TruncatedSuffix, InferLevel(msg)
	}
	return ParseMessage(msg)
}

// InferLevel guesses the level of a plain-text line: a klog header (`E1126 ...`), else
// the first word that names a level (`ERROR`, `level=warn`, `[info]`), else UNKNOWN.
// Like Container Insights' inference it can misclassify ("no error" reads as ERROR);
// taking the first level word favours the logger's own prefix over words in the text.
func InferLevel(msg string) string {
	if l, ok := klogLevel(msg); ok {
		return l
	}
	// Only the head of a line is searched: a level word is a prefix, not a footnote,
	// and long lines (stack traces, payloads) would cost time for nothing.
	if len(msg) > 256 {
		msg = msg[:256]
	}
	start := -1
	for i := 0; i <= len(msg); i++ {
		letter := i < len(msg) && isLetter(msg[i])
		switch {
		case letter && start < 0:
			start = i
		case !letter && start >= 0:
			if w := msg[start:i]; len(w) >= 3 && len(w) <= 13 {
				if l, ok := levelWords[lowerASCII(w)]; ok {
					return l
				}
			}
			start = -1
		}
	}
	return LevelUnknown
}

// klogLevel reads the header of klog's text format: `Lmmdd hh:mm:ss.uuuuuu ...`.
func klogLevel(msg string) (string, bool) {
	if len(msg) < 6 || msg[5] != ' ' {
		return "", false
	}
	for i := 1; i < 5; i++ {
		if msg[i] < '0' || msg[i] > '9' {
			return "", false
		}
	}
	switch msg[0] {
	case 'I':
		return LevelInfo, true
	case 'W':
		return LevelWarning, true
	case 'E':
		return LevelError, true
	case 'F':
		return LevelCritical, true
	}
	return "", false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
