// Package leak traces personal data that left Steward's hands and handles the breaches it finds: incidents with their regulator deadlines and notices, and evidence kept under the vault's keys.
package leak
