package remotekeys

import "time"

// IntervalForTest is the refresh interval for a Cache-Control header
// with the default bounds.
func IntervalForTest(cc string) time.Duration {
	s := &Set{o: Options{MinRefresh: time.Minute, MaxRefresh: 24 * time.Hour}}
	return s.interval(cc)
}
