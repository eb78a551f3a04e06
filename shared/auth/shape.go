package auth

// VirtualKeyChars is how many base62 characters follow VirtualKeyPrefix in a generated virtual
// key (keys.Generate): 32, about 190 bits. Every key the gateway ever issued has this shape.
const VirtualKeyChars = 32

// IsVirtualKeyShape reports whether s can be a generated virtual key: VirtualKeyPrefix then
// exactly VirtualKeyChars characters of [0-9A-Za-z]. The verifier refuses anything else before
// reading the key store, so junk keys cost neither a store read nor a cache entry.
func IsVirtualKeyShape(s string) bool {
	if len(s) != len(VirtualKeyPrefix)+VirtualKeyChars || s[:len(VirtualKeyPrefix)] != VirtualKeyPrefix {
		return false
	}
	for i := len(VirtualKeyPrefix); i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
