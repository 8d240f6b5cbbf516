package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"pynet/internal/auth"
	"pynet/internal/store"
	"pynet/protocol"
)

// accountBook is where accounts live: the store with -data, else a map that
// lasts until the server stops (PROTOCOL §5.5). Its own lock: account reads
// and writes are done by readers outside the hub's lock.
type accountBook struct {
	st  store.Store
	mu  sync.Mutex
	mem map[string]store.Account
}

func newAccountBook(st store.Store) *accountBook {
	return &accountBook{st: st, mem: make(map[string]store.Account)}
}

func (a *accountBook) get(key string) (store.Account, bool, error) {
	if a.st != nil {
		return a.st.Account(key)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	acc, ok := a.mem[key]
	return acc, ok, nil
}

func (a *accountBook) create(acc store.Account) error {
	if a.st != nil {
		return a.st.CreateAccount(acc)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.mem[acc.Key]; ok {
		return store.ErrExists
	}
	a.mem[acc.Key] = acc
	return nil
}

func (a *accountBook) setPassword(key, hash string) error {
	if a.st != nil {
		return a.st.SetPassword(key, hash)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	acc, ok := a.mem[key]
	if !ok {
		return store.ErrNotFound
	}
	acc.Hash = hash
	a.mem[key] = acc
	return nil
}

// isAccount reports whether the folded name key is an account. A store
// that cannot answer counts as "yes": refusing a name is safer than giving
// an account's name away.
func (a *accountBook) isAccount(key string) bool {
	_, ok, err := a.get(key)
	return ok || err != nil
}

// guard is the server's defence of password hashing (PROTOCOL §5.5): the
// failed-login throttles per (name, address) and per address, the
// registration throttle per address, and the gate that bounds concurrent
// hashes and shares them among addresses. Separate throttles, so that a
// flood of names cannot evict the per-address buckets.
type guard struct {
	joins    *auth.Throttle // successful joins per address; nil when off
	byName   *auth.Throttle
	byAddr   *auth.Throttle
	register *auth.Throttle
	gate     *auth.Gate
}

const (
	loginBurst     = 5
	loginEvery     = 12 * time.Second
	registerBurst  = 5
	registerEvery  = 12 * time.Minute // 5 an hour
	throttleKeys   = 100000
	hashWaitLimit  = 10 * time.Second // a hash waits its turn at most this long
	defaultHashers = 2
)

func newGuard(cfg *Config) *guard {
	n := cfg.HashConcurrency
	if n <= 0 {
		n = defaultHashers
	}
	var joins *auth.Throttle
	if cfg.JoinBurst > 0 {
		joins = auth.NewThrottle(cfg.JoinBurst, cfg.JoinEvery, throttleKeys)
	}
	return &guard{
		joins:    joins,
		byName:   auth.NewThrottle(loginBurst, loginEvery, throttleKeys),
		byAddr:   auth.NewThrottle(loginBurst, loginEvery, throttleKeys),
		register: auth.NewThrottle(registerBurst, registerEvery, throttleKeys),
		gate:     auth.NewGate(n),
	}
}

// loginWait is how long until a failed login from addr for key would be
// checked; 0 means now.
func (g *guard) loginWait(key, addr string, now time.Time) time.Duration {
	return max(g.byName.Wait(key+"|"+addr, now), g.byAddr.Wait(addr, now))
}

// loginFailed counts a failed login.
func (g *guard) loginFailed(key, addr string, now time.Time) {
	g.byName.Take(key+"|"+addr, now)
	g.byAddr.Take(addr, now)
}

// hash runs fn through the gate, waiting its turn at most until the join
// deadline (or hashWaitLimit). A refusal is answered rate_limited.
func (c *conn) hash(fn func()) *protocol.Error {
	deadline := time.Now().Add(hashWaitLimit)
	if !c.joined && !c.joinBy.IsZero() && c.joinBy.Before(deadline) {
		deadline = c.joinBy
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := c.srv.guard.gate.Do(ctx, c.ip.String(), fn); err != nil {
		msg := "too many password checks at once; try again"
		if errors.Is(err, auth.ErrBusy) {
			msg = "too many password checks waiting; try again"
		}
		return &protocol.Error{Code: protocol.CodeRateLimited, Message: msg, RetryAfterMS: 1000}
	}
	return nil
}

func errAuthFailed() *protocol.Error {
	return &protocol.Error{Code: protocol.CodeAuthFailed, Message: "wrong name or password"}
}

func errInsecure() *protocol.Error {
	return &protocol.Error{Code: protocol.CodeInsecureAuth, Message: "passwords and account tokens travel only over TLS or from this machine"}
}

// login checks a join's password for name. It returns the account, or the
// error to answer with: the throttle's rate_limited first (before any
// hashing), then auth_failed for a wrong password or a name that is no
// account (after hashing a dummy, so timing tells nothing).
func (c *conn) login(name, password string, now time.Time) (*store.Account, *protocol.Error) {
	srv := c.srv
	key, addr := protocol.FoldName(name), c.ip.String()
	if wait := srv.guard.loginWait(key, addr, now); wait > 0 {
		return nil, errRateLimited(wait, "failed logins")
	}
	acc, ok, err := srv.accounts.get(key)
	if err != nil {
		srv.log.Error("reading an account failed", "err", err)
		return nil, errAuthFailed()
	}
	good := false
	if e := c.hash(func() {
		switch {
		case srv.cfg.Hasher == nil:
		case ok:
			good = srv.cfg.Hasher.Verify(password, acc.Hash)
		default:
			srv.cfg.Hasher.Dummy(password)
		}
	}); e != nil {
		return nil, e
	}
	if !good {
		srv.guard.loginFailed(key, addr, time.Now())
		return nil, errAuthFailed()
	}
	return &acc, nil
}

// register makes the session's current name an account (PROTOCOL §5.5).
func (c *conn) register(f *protocol.Frame, now time.Time) *protocol.Error {
	srv := c.srv
	if c.insecure() {
		return errInsecure()
	}
	if e := protocol.CheckPassword(f.Password, f.HasPassword); e != nil {
		return e
	}
	name, account, ok := srv.hub.sessionName(c)
	if !ok {
		return nil
	}
	key := protocol.FoldName(name)
	already := &protocol.Error{Code: protocol.CodeAlreadyRegistered, Message: "the name " + protocol.QuoteForMessage(name) + " is an account already"}
	if account != "" || srv.accounts.isAccount(key) {
		return already
	}
	addr := c.ip.String()
	if wait := srv.guard.register.Wait(addr, now); wait > 0 {
		return errRateLimited(wait, "registrations from your address")
	}
	if srv.cfg.Hasher == nil {
		return &protocol.Error{Code: protocol.CodeAuthFailed, Message: "this server has no accounts"}
	}
	var hash string
	var herr error
	if e := c.hash(func() { hash, herr = srv.cfg.Hasher.Hash(f.Password) }); e != nil {
		return e
	}
	if herr != nil {
		srv.log.Error("hashing a password failed", "err", herr)
		return errAuthFailed()
	}
	err := srv.accounts.create(store.Account{Key: key, Name: name, Hash: hash, Created: time.Now()})
	switch {
	case errors.Is(err, store.ErrExists):
		return already
	case err != nil:
		srv.log.Error("storing an account failed", "err", err)
		return &protocol.Error{Code: protocol.CodeAuthFailed, Message: "the account could not be stored"}
	}
	srv.guard.register.Take(addr, time.Now())
	srv.hub.registered(c, key, f)
	c.logger().Info("registered", "user", name)
	return nil
}

// changePassword checks, in order: insecure_auth, weak_password (new),
// auth_required (a guest), the login throttle, auth_failed (old).
func (c *conn) changePassword(f *protocol.Frame, now time.Time) *protocol.Error {
	srv := c.srv
	if c.insecure() {
		return errInsecure()
	}
	if e := protocol.CheckPassword(f.New, f.HasNew); e != nil {
		return e
	}
	_, account, ok := srv.hub.sessionName(c)
	if !ok {
		return nil
	}
	if account == "" {
		return &protocol.Error{Code: protocol.CodeAuthRequired, Message: "only an account has a password: register first"}
	}
	addr := c.ip.String()
	if wait := srv.guard.loginWait(account, addr, now); wait > 0 {
		return errRateLimited(wait, "failed logins")
	}
	acc, found, err := srv.accounts.get(account)
	if err != nil || !found || srv.cfg.Hasher == nil {
		return errAuthFailed()
	}
	good := false
	var hash string
	var herr error
	if e := c.hash(func() {
		if good = f.HasOld && srv.cfg.Hasher.Verify(f.Old, acc.Hash); good {
			hash, herr = srv.cfg.Hasher.Hash(f.New)
		}
	}); e != nil {
		return e
	}
	if !good {
		srv.guard.loginFailed(account, addr, time.Now())
		return errAuthFailed()
	}
	if herr == nil {
		herr = srv.accounts.setPassword(account, hash)
	}
	if herr != nil {
		srv.log.Error("changing a password failed", "err", herr)
		return errAuthFailed()
	}
	srv.hub.passwordChanged(c, f)
	return nil
}
