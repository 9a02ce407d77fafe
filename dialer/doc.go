// Package dialer owns SIP signalling: listeners, inbound routing, outbound
// legs, and the life cycle of every call leg. It uses diago/sipgo for
// transactions and dialogs and hands media to package media.
package dialer
