// Package datakey manages the data keys that seal values at rest: the
// data_keys table, where each key is stored wrapped by the key-encryption
// key (KEK), loading them into a [seal.Keyring], rotation, and the
// background re-encryption that moves rows sealed under older keys (or
// written in plaintext before encryption was on) to the current key.
//
// Lifecycle: [Setup] resolves the KEK from the options (a key file, a key
// in the environment, or, for SQLite only, a key file it creates in the
// data directory on first start), creates the first data key when there is
// none, and sets the database's Keyring. A [Reencryptor] then runs beside
// the server: it reloads the keys when another process rotates them
// (within [RefreshIntervalDefault]), and re-seals rows in small batches of
// short transactions, reporting progress in a log line and the
// waybill_encryption_rows_pending gauge. [Rotate] adds a new current key;
// [Status] counts rows per key; [Rewrap] moves the keys to another KEK.
//
// The tables with sealed values implement [Table]; the package knows none
// of them.
package datakey
