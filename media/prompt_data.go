package media

import "fmt"

// ParsePrompt decodes a prompt from WAV bytes already in memory (an
// embedded default, say); name is used in errors, as LoadPrompt uses the
// path.
func ParsePrompt(name string, data []byte) (*Prompt, error) {
	p, err := parsePromptWAV(name, data)
	if err != nil {
		return nil, fmt.Errorf("load prompt %q: %w", name, err)
	}
	return p, nil
}
