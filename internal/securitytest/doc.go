// Package securitytest attacks a real obzvon daemon the way an intruder
// would (sipvicious's svcrack and svwar, SIP/TCP connection floods, INVITE
// floods, concurrent logins, RTP reflection) and checks that it holds.
// Its tests are built only with -tags security: `make security` runs them
// and prints the figures. OBZVON_BIN names the binary to attack (default:
// built from this tree), so the same attacks give "before" figures
// against an older build.
package securitytest
