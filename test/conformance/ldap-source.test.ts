// The LDAP source against a real OpenLDAP (slapd), through the shared source conformance suite.
import { runSourceConformance } from './source-suite.ts';
import { ldapFixture } from './ldap-fixture.ts';

runSourceConformance('ldap (OpenLDAP)', () => ldapFixture());
