package httpapi

import (
	"context"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/vault"
)

// maxImportPII is the most sealed personal data one import holds (in memory, until it
// commits): about 100,000 accounts of a few fields each.
const maxImportPII = 128 << 20

// piiImport collects the personal data of an import's lines, sealed as each is read:
// what an import holds or spools never holds a value in clear.
type piiImport struct {
	s      *server
	sealed []*vault.Sealed
	size   int
}

func (s *server) newPIIImport() *piiImport { return &piiImport{s: s} }

// add validates and seals one line's personal data. Returns errs.Invalid naming every
// field at fault, errs.TooLarge past maxImportPII.
func (pi *piiImport) add(ctx context.Context, account string, p *vault.PII) error {
	n, err := vault.Normalize(*p)
	if err != nil {
		return err
	}
	sd, err := pi.s.Vault.Seal(ctx, account, n)
	if err != nil {
		return err
	}
	if pi.size += sd.Size(); pi.size > maxImportPII {
		return errs.E(errs.TooLarge, "the personal data of one import is over %d MiB sealed; split the file", maxImportPII>>20)
	}
	pi.sealed = append(pi.sealed, sd)
	return nil
}

// commit writes the sealed data, inside the import's transaction.
func (pi *piiImport) commit(ctx context.Context) error {
	if len(pi.sealed) == 0 {
		return nil
	}
	return pi.s.Vault.Write(ctx, pi.sealed)
}
