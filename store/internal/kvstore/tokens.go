package kvstore

import (
	"context"
	"math"

	"github.com/dmflow/dmflow"
)

// PutToken stores the account's token, replacing the previous one.
func (s *Store) PutToken(ctx context.Context, t dmflow.Token) error {
	if t.Account == "" {
		return s.errf(invalid("token without account"), "put token")
	}
	err := s.update(ctx, func(tx Tx) error {
		return putRec(tx.Bucket(bTokens), []byte(t.Account), t)
	})
	return s.errf(err, "put token %s", t.Account)
}

// GetToken returns the account's token or an error wrapping ErrNotFound.
func (s *Store) GetToken(ctx context.Context, account string) (*dmflow.Token, error) {
	var t dmflow.Token
	err := s.view(ctx, func(tx Tx) error {
		ok, err := getRec(tx.Bucket(bTokens), []byte(account), &t)
		if err == nil && !ok {
			err = dmflow.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, s.errf(err, "get token %s", account)
	}
	return &t, nil
}

// ListTokens returns all tokens in account order.
func (s *Store) ListTokens(ctx context.Context) ([]dmflow.Token, error) {
	var out []dmflow.Token
	err := s.view(ctx, func(tx Tx) error {
		var err error
		out, err = scanRecs[dmflow.Token](tx.Bucket(bTokens), math.MaxInt)
		return err
	})
	return out, s.errf(err, "list tokens")
}
