package tollgate_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate-go/tollgate"
)

// HashPassword seeds a UserStore with bcrypt hashes at DefaultBcryptCost.
// Passwords longer than bcrypt's 72-byte limit are refused, never
// truncated.
func ExampleHashPassword() {
	hash, err := tollgate.HashPassword("wonderland")
	if err != nil {
		panic(err)
	}
	ok, _ := tollgate.Bcrypt(0).Verify(hash, "wonderland")
	fmt.Println("verifies:", ok)
	fmt.Println("prefix:", string(hash[:7]))

	_, err = tollgate.HashPassword(strings.Repeat("x", 73))
	fmt.Println("73 bytes:", errors.Is(err, tollgate.ErrPasswordTooLong))
	// Output:
	// verifies: true
	// prefix: $2a$12$
	// 73 bytes: true
}

// A Bcrypt with a higher Cost reports older, cheaper hashes as needing a
// rehash; the token endpoint then stores a fresh hash on the next
// successful login, when the UserStore implements PasswordUpdater.
func ExampleBcrypt_rehash() {
	old, _ := tollgate.Bcrypt(10).Hash("wonderland")
	fmt.Println(tollgate.Bcrypt(10).NeedsRehash(old))
	fmt.Println(tollgate.Bcrypt(11).NeedsRehash(old))
	// Output:
	// false
	// true
}
