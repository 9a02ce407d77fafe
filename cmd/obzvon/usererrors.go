package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
)

// plainPathError says which file could not be used and why, without Go's
// operation names ("open x: no such file" becomes "x: no such file").
func plainPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

// inDir is plainPathError for a file named relative to dir (os.DirFS):
// the message names the full path.
func inDir(dir string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", filepath.Join(dir, pe.Path), pe.Err)
	}
	return err
}

// daemonTransportError is what the CLI says when the daemon's admin
// socket stops answering mid-request: the cause, without the internal
// request URL that net/http puts in the message.
func daemonTransportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("the daemon did not answer over its admin socket (%v); is it stopping? See: journalctl -u obzvon -n 50", err)
}
