package providers

import (
	"encoding/binary"
	"hash/crc32"
)

// The AWS event stream (application/vnd.amazon.eventstream) is a sequence of binary messages:
//
//	total length (4, big endian) | headers length (4) | prelude CRC32 (4) |
//	headers | payload | message CRC32 (4)
//
// Both CRCs are CRC-32 (IEEE): the prelude's over the first 8 bytes, the message's over
// everything before it. A header is name length (1), name, value type (1) and a value whose
// size the type gives (strings and byte arrays carry a 2-byte length).

const (
	esPrelude  = 12
	esMinTotal = esPrelude + 4
	maxFrame   = 1 << 20 // a longer message is skipped unread
	esMaxTotal = 16 << 20
)

// esParser reassembles messages from chunks of any size, holding at most one message of up
// to maxFrame bytes.
type esParser struct {
	frame []byte
	need  int // bytes still missing from the current message (0: reading a prelude)
	skip  int // bytes of an oversized message still to skip
	dead  bool
}

// frameHandler receives each complete, CRC-checked message.
type frameHandler interface {
	frame(headers, payload []byte)
}

func (e *esParser) write(p []byte, h frameHandler) {
	for len(p) > 0 && !e.dead {
		if e.skip > 0 {
			n := min(e.skip, len(p))
			e.skip -= n
			p = p[n:]
			continue
		}
		if len(e.frame) < esPrelude {
			n := min(esPrelude-len(e.frame), len(p))
			e.frame = append(e.frame, p[:n]...)
			p = p[n:]
			if len(e.frame) < esPrelude {
				return
			}
			total := binary.BigEndian.Uint32(e.frame[0:4])
			hlen := binary.BigEndian.Uint32(e.frame[4:8])
			if crc32.ChecksumIEEE(e.frame[:8]) != binary.BigEndian.Uint32(e.frame[8:12]) ||
				total < esMinTotal || total > esMaxTotal || hlen > total-esMinTotal {
				// Not an event stream, or corrupt: there is no way to find the next message.
				e.dead = true
				e.frame = nil
				return
			}
			if total > maxFrame {
				e.skip = int(total) - esPrelude
				e.frame = e.frame[:0]
				continue
			}
			e.need = int(total) - esPrelude
			continue
		}
		n := min(e.need, len(p))
		e.frame = append(e.frame, p[:n]...)
		e.need -= n
		p = p[n:]
		if e.need > 0 {
			return
		}
		f := e.frame
		e.frame = e.frame[:0]
		total := len(f)
		if crc32.ChecksumIEEE(f[:total-4]) != binary.BigEndian.Uint32(f[total-4:]) {
			e.dead = true
			e.frame = nil
			return
		}
		hlen := int(binary.BigEndian.Uint32(f[4:8]))
		h.frame(f[esPrelude:esPrelude+hlen], f[esPrelude+hlen:total-4])
	}
}

// esHeader finds a string header's value (nil when absent or malformed).
func esHeader(headers []byte, name string) []byte {
	for len(headers) > 0 {
		nl := int(headers[0])
		if len(headers) < 1+nl+1 {
			return nil
		}
		hname := headers[1 : 1+nl]
		typ := headers[1+nl]
		rest := headers[2+nl:]
		var size int
		switch typ {
		case 0, 1: // true, false
		case 2: // byte
			size = 1
		case 3: // short
			size = 2
		case 4: // int
			size = 4
		case 5, 8: // long, timestamp
			size = 8
		case 9: // uuid
			size = 16
		case 6, 7: // bytes, string
			if len(rest) < 2 {
				return nil
			}
			size = 2 + int(binary.BigEndian.Uint16(rest))
		default:
			return nil
		}
		if len(rest) < size {
			return nil
		}
		if typ == 7 && string(hname) == name {
			return rest[2:size]
		}
		headers = rest[size:]
	}
	return nil
}
