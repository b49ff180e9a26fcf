// Package seal encrypts values at rest: source payloads, event bodies,
// outbound job arguments and dead letters.
//
// A [Keyring] holds the data keys, each a random AES-256 key with a short
// id, and which one is current. [Keyring.Seal] encrypts a value with the
// current key under AES-256-GCM with a random 96-bit nonce, and binds it to
// its place (table, column and row key) as associated data, so a value
// copied into another row fails to open. The sealed value starts with a
// versioned header that carries the key id:
//
//	wb1:<key id, 16 hex digits>:<nonce and ciphertext>
//
// in binary for byte columns ([Keyring.Seal], [Keyring.Open]) and in
// unpadded standard base64 for text columns ([Keyring.SealText],
// [Keyring.OpenText]). A value without the header is plaintext, written
// before encryption was turned on or while it was off, and opens as it
// is: JSON never starts with "wb1:", and byte columns say by a key id
// column of their own whether a value is sealed.
//
// Data keys are stored in the database wrapped by a key-encryption key
// (envelope encryption). The wrapping is behind [KeyWrapper]: [LocalKEK]
// implements it with a 32-byte key from a file or the environment, and a
// KMS client can implement it later without touching sealed values.
//
// Opening a value whose key the keyring does not hold returns a
// [*MissingKeyError] naming the key id; a value that fails authentication
// (tampered, moved to another place, or sealed under another key of the
// same id) returns [ErrTampered]. Neither ever yields bytes.
//
// A nil *Keyring means encryption is off: Seal returns the plaintext and
// Open opens plaintext, and a sealed value is a MissingKeyError.
//
// A Keyring is safe for concurrent use; [Keyring.Replace] swaps the whole
// key set at once while readers and writers carry on.
package seal
