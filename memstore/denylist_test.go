package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate/memstore"
)

func TestDenylist(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	t.Run("denied until forgotten after expiry", func(t *testing.T) {
		d := memstore.NewDenylist(0)
		if err := d.Deny(ctx, "a", t0.Add(time.Minute), t0); err != nil {
			t.Fatal(err)
		}
		if ok, err := d.IsDenied(ctx, "a"); !ok || err != nil {
			t.Errorf("IsDenied(a) = %v, %v; want true", ok, err)
		}
		if ok, _ := d.IsDenied(ctx, "b"); ok {
			t.Error("IsDenied(b) = true for a jti never denied")
		}
		// A later Deny, after a's token has expired, drops a.
		if err := d.Deny(ctx, "b", t0.Add(time.Hour), t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if ok, _ := d.IsDenied(ctx, "a"); ok || d.Len() != 1 {
			t.Errorf("after expiry: IsDenied(a) = %v, Len = %d; want false, 1", ok, d.Len())
		}
	})

	t.Run("bounded: full is an error, never a forgotten revocation", func(t *testing.T) {
		d := memstore.NewDenylist(3)
		for i := range 3 {
			if err := d.Deny(ctx, fmt.Sprint(i), t0.Add(time.Hour), t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Deny(ctx, "x", t0.Add(time.Hour), t0); !errors.Is(err, memstore.ErrDenylistFull) {
			t.Errorf("Deny on a full list = %v, want ErrDenylistFull", err)
		}
		for i := range 3 {
			if ok, _ := d.IsDenied(ctx, fmt.Sprint(i)); !ok {
				t.Errorf("entry %d was forgotten to make room", i)
			}
		}
		// Denying one already there is fine.
		if err := d.Deny(ctx, "0", t0.Add(time.Hour), t0); err != nil {
			t.Errorf("re-Deny on a full list: %v", err)
		}
		// Once they expire there is room again.
		if err := d.Deny(ctx, "x", t0.Add(3*time.Hour), t0.Add(2*time.Hour)); err != nil || d.Len() != 1 {
			t.Errorf("Deny after expiry = %v, Len = %d; want nil, 1", err, d.Len())
		}
	})

	t.Run("a later until extends the entry", func(t *testing.T) {
		d := memstore.NewDenylist(0)
		_ = d.Deny(ctx, "a", t0.Add(time.Minute), t0)
		_ = d.Deny(ctx, "a", t0.Add(time.Hour), t0)
		_ = d.Deny(ctx, "a", t0.Add(time.Second), t0) // an earlier until changes nothing
		_ = d.Deny(ctx, "b", t0.Add(2*time.Hour), t0.Add(30*time.Minute))
		if ok, _ := d.IsDenied(ctx, "a"); !ok {
			t.Error("entry dropped at its first until although extended")
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		d := memstore.NewDenylist(0)
		c, cancel := context.WithCancel(ctx)
		cancel()
		if err := d.Deny(c, "a", t0, t0); err == nil {
			t.Error("Deny with a cancelled context succeeded")
		}
		if _, err := d.IsDenied(c, "a"); err == nil {
			t.Error("IsDenied with a cancelled context succeeded")
		}
	})
}
