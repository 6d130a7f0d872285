// Which $filter clauses Graph answers only as advanced queries (ConsistencyLevel: eventual +
// $count=true), per resource, as Microsoft documents them (includes/filter-directory-objects.md
// and concepts/aad-advanced-queries.md in microsoft-graph-docs-contrib; see
// docs/protocol-facts.md). Kept apart from the product's own table on purpose: this is the
// stand-in for Graph, and the two must be able to disagree for a test to catch the product.
import type { FilterNode } from './odata.ts';

type Op = 'eq' | 'startsWith' | 'range' | 'null';

/**
 * Properties and the operators on them that need advanced query parameters. `range` is
 * ge/le/gt/lt; `eq` covers `in`; `null` is `eq null`. Where versions of Microsoft's table
 * disagree, the clause is listed (the stricter answer). `ne`, `not` and `endsWith` are
 * advanced everywhere; `eq null` is advanced except where NULL_BY_DEFAULT says otherwise.
 */
const ADVANCED: Record<'user' | 'group', Record<string, readonly Op[]>> = {
  user: {
    accountEnabled: ['range'],
    assignedPlans: ['eq'],
    companyName: ['eq', 'startsWith', 'range'],
    createdDateTime: ['eq', 'range'],
    employeeHireDate: ['eq', 'range'],
    'employeeOrgData/costCenter': ['eq'],
    'employeeOrgData/division': ['eq'],
    employeeType: ['eq', 'startsWith', 'range'],
    faxNumber: ['eq', 'startsWith'],
    mobilePhone: ['eq', 'startsWith', 'range'],
    officeLocation: ['eq', 'startsWith', 'range'],
    onPremisesExtensionAttributes: ['eq', 'range'],
    onPremisesImmutableId: ['eq', 'range'],
    onPremisesLastSyncDateTime: ['eq', 'range'],
    onPremisesSamAccountName: ['eq', 'startsWith', 'range'],
    passwordPolicies: ['eq'],
    postalCode: ['eq', 'startsWith', 'range'],
    preferredLanguage: ['eq', 'startsWith', 'range'],
    showInAddressList: ['eq', 'range'],
    streetAddress: ['eq', 'startsWith', 'range'],
  },
  group: {
    description: ['eq', 'startsWith'],
    expirationDateTime: ['eq', 'range'],
    onPremisesSamAccountName: ['eq', 'startsWith'],
    preferredLanguage: ['eq', 'startsWith'],
  },
};

const NULL_BY_DEFAULT: Record<'user' | 'group', ReadonlySet<string>> = {
  user: new Set(['identities']),
  group: new Set(['hasMembersWithLicenseErrors']),
};

/** The first clause of a filter that needs advanced query parameters, described as Graph does; undefined when none does. */
export function advancedClause(resource: 'user' | 'group', node: FilterNode): string | undefined {
  const entity = resource === 'user' ? 'User' : 'Group';
  const refused = (path: string[], op: Op): string | undefined => {
    const whole = path.join('/');
    const ops = ADVANCED[resource][whole] ?? ADVANCED[resource][path[0]!];
    if (op === 'null' ? !NULL_BY_DEFAULT[resource].has(path[0]!) : ops?.includes(op)) {
      return `Unsupported or invalid query filter clause specified for property '${whole}' of resource '${entity}'.`;
    }
    return undefined;
  };
  switch (node.kind) {
    case 'and':
    case 'or':
      return advancedClause(resource, node.left) ?? advancedClause(resource, node.right);
    case 'not':
      return "Unsupported query: the 'not' operator requires advanced query parameters (ConsistencyLevel: eventual and $count=true).";
    case 'compare':
      if (node.op === 'ne') return "Unsupported property filter clause operator 'NotEqualsMatch'.";
      if (node.value === null) return refused(node.path, 'null');
      return refused(node.path, node.op === 'eq' ? 'eq' : 'range');
    case 'in':
      return refused(node.path, 'eq');
    case 'func':
      if (node.name === 'endswith') return "Unsupported query: 'endsWith' requires advanced query parameters (ConsistencyLevel: eventual and $count=true).";
      return refused(node.path, 'startsWith');
    case 'any':
      if (node.op === 'ne') return "Unsupported property filter clause operator 'NotEqualsMatch'.";
      return refused(node.path, node.op === 'startswith' ? 'startsWith' : node.op === 'eq' ? 'eq' : 'range');
  }
}
