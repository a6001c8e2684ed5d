package redisstore

import (
	"context"
	"strconv"
	"strings"
)

// UsedMemoryForTest is Redis's used_memory.
func UsedMemoryForTest(ctx context.Context, s *Store) int64 {
	info, _ := s.rdb.Info(ctx, "memory").Result()
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
