// Word lists for the organisation generator. Names come as [display form, ASCII form] so
// unicode display names still produce valid user principal names.

export type Name = readonly [display: string, ascii: string];

export const GIVEN_NAMES: readonly Name[] = [
  ['James', 'james'], ['Mary', 'mary'], ['Robert', 'robert'], ['Patricia', 'patricia'], ['John', 'john'],
  ['Jennifer', 'jennifer'], ['Michael', 'michael'], ['Linda', 'linda'], ['David', 'david'], ['Elizabeth', 'elizabeth'],
  ['William', 'william'], ['Barbara', 'barbara'], ['Richard', 'richard'], ['Susan', 'susan'], ['Joseph', 'joseph'],
  ['Jessica', 'jessica'], ['Thomas', 'thomas'], ['Sarah', 'sarah'], ['Daniel', 'daniel'], ['Karen', 'karen'],
  ['Priya', 'priya'], ['Arjun', 'arjun'], ['Fatima', 'fatima'], ['Omar', 'omar'], ['Aisha', 'aisha'],
  ['Chen', 'chen'], ['Yuki', 'yuki'], ['Hiroshi', 'hiroshi'], ['Sofia', 'sofia'], ['Lucas', 'lucas'],
  ['Emma', 'emma'], ['Noah', 'noah'], ['Olivia', 'olivia'], ['Liam', 'liam'], ['Mateo', 'mateo'],
  ['Zoë', 'zoe'], ['Jürgen', 'juergen'], ['Søren', 'soren'], ['Øystein', 'oystein'], ['José', 'jose'],
  ['Chloé', 'chloe'], ['Łukasz', 'lukasz'], ['Ángel', 'angel'], ['Björn', 'bjorn'], ['Åsa', 'asa'],
  ['François', 'francois'], ['Mónica', 'monica'], ['Nuñez', 'nunez'], ['Renée', 'renee'], ['İlker', 'ilker'],
];

export const SURNAMES: readonly Name[] = [
  ['Smith', 'smith'], ['Johnson', 'johnson'], ['Williams', 'williams'], ['Brown', 'brown'], ['Jones', 'jones'],
  ['Garcia', 'garcia'], ['Miller', 'miller'], ['Davis', 'davis'], ['Rodriguez', 'rodriguez'], ['Martinez', 'martinez'],
  ['Patel', 'patel'], ['Khan', 'khan'], ['Nguyen', 'nguyen'], ['Kim', 'kim'], ['Tanaka', 'tanaka'],
  ['Okafor', 'okafor'], ['Silva', 'silva'], ['Rossi', 'rossi'], ['Novak', 'novak'], ['Kowalski', 'kowalski'],
  ['Müller', 'mueller'], ['Schäfer', 'schaefer'], ['Øberg', 'oberg'], ['Lindström', 'lindstrom'], ['Dupré', 'dupre'],
  ['Núñez', 'nunez'], ['Çelik', 'celik'], ['Wójcik', 'wojcik'], ['Håkansson', 'hakansson'], ['O\'Brien', 'obrien'],
  ['van der Berg', 'vanderberg'], ['de la Cruz', 'delacruz'], ['Fitzgerald', 'fitzgerald'], ['Andersen', 'andersen'], ['Moreau', 'moreau'],
];

/** East Asian names written family name first, no space (e.g. 李伟). */
export const CJK_NAMES: ReadonlyArray<{ given: Name; family: Name }> = [
  { given: ['伟', 'wei'], family: ['李', 'li'] },
  { given: ['芳', 'fang'], family: ['王', 'wang'] },
  { given: ['娜', 'na'], family: ['张', 'zhang'] },
  { given: ['秀英', 'xiuying'], family: ['刘', 'liu'] },
  { given: ['太郎', 'taro'], family: ['山田', 'yamada'] },
  { given: ['花子', 'hanako'], family: ['佐藤', 'sato'] },
];

export interface Department {
  name: string;
  slug: string;
  code: string;
  /** Relative headcount. */
  weight: number;
  titles: readonly string[];
  division: string;
}

export const DEPARTMENTS: readonly Department[] = [
  { name: 'Engineering', slug: 'engineering', code: 'ENG', weight: 24, division: 'Technology', titles: ['Software Engineer', 'Senior Software Engineer', 'Staff Engineer', 'QA Engineer', 'Site Reliability Engineer'] },
  { name: 'Product', slug: 'product', code: 'PRD', weight: 6, division: 'Technology', titles: ['Product Manager', 'Product Designer', 'UX Researcher'] },
  { name: 'IT', slug: 'it', code: 'ITS', weight: 5, division: 'Technology', titles: ['Systems Administrator', 'IT Support Specialist', 'Identity Engineer'] },
  { name: 'Sales', slug: 'sales', code: 'SAL', weight: 16, division: 'Revenue', titles: ['Account Executive', 'Sales Development Representative', 'Solutions Engineer'] },
  { name: 'Marketing', slug: 'marketing', code: 'MKT', weight: 7, division: 'Revenue', titles: ['Marketing Manager', 'Content Strategist', 'Growth Analyst'] },
  { name: 'Customer Support', slug: 'customer-support', code: 'SUP', weight: 12, division: 'Revenue', titles: ['Support Engineer', 'Customer Success Manager', 'Technical Account Manager'] },
  { name: 'Finance', slug: 'finance', code: 'FIN', weight: 5, division: 'Operations', titles: ['Accountant', 'Financial Analyst', 'Controller'] },
  { name: 'Human Resources', slug: 'human-resources', code: 'HRS', weight: 4, division: 'Operations', titles: ['HR Business Partner', 'Recruiter', 'People Operations Specialist'] },
  { name: 'Legal', slug: 'legal', code: 'LGL', weight: 2, division: 'Operations', titles: ['Counsel', 'Paralegal', 'Compliance Officer'] },
  { name: 'Operations', slug: 'operations', code: 'OPS', weight: 6, division: 'Operations', titles: ['Operations Analyst', 'Program Manager', 'Facilities Coordinator'] },
  { name: 'Research & Development', slug: 'research-development', code: 'RND', weight: 5, division: 'Technology', titles: ['Research Scientist', 'Data Scientist', 'ML Engineer'] },
];

export interface Office {
  officeLocation: string;
  street: string;
  city: string;
  state: string | null;
  postalCode: string;
  country: string;
  usageLocation: string;
  /** Formats a local number, e.g. "+1 425 555 0142". */
  phone: (digits: string) => string;
  language: string;
  weight: number;
}

export const OFFICES: readonly Office[] = [
  { officeLocation: 'Seattle HQ / 18', street: '1 Lake Union Way', city: 'Seattle', state: 'WA', postalCode: '98109', country: 'United States', usageLocation: 'US', phone: (d) => `+1 206 555 ${d.slice(0, 4)}`, language: 'en-US', weight: 30 },
  { officeLocation: 'New York / 7', street: '200 Hudson St', city: 'New York', state: 'NY', postalCode: '10013', country: 'United States', usageLocation: 'US', phone: (d) => `+1 212 555 ${d.slice(0, 4)}`, language: 'en-US', weight: 12 },
  { officeLocation: 'London / 3', street: '25 Canada Square', city: 'London', state: null, postalCode: 'E14 5LQ', country: 'United Kingdom', usageLocation: 'GB', phone: (d) => `+44 20 7946 ${d.slice(0, 4)}`, language: 'en-GB', weight: 14 },
  { officeLocation: 'München / 2', street: 'Leopoldstraße 12', city: 'München', state: 'Bayern', postalCode: '80802', country: 'Germany', usageLocation: 'DE', phone: (d) => `+49 89 ${d.slice(0, 8)}`, language: 'de-DE', weight: 9 },
  { officeLocation: 'Paris / 5', street: '10 Rue de la Paix', city: 'Paris', state: 'Île-de-France', postalCode: '75002', country: 'France', usageLocation: 'FR', phone: (d) => `+33 1 ${d.slice(0, 2)} ${d.slice(2, 4)} ${d.slice(4, 6)} ${d.slice(6, 8)}`, language: 'fr-FR', weight: 7 },
  { officeLocation: 'Oslo / 1', street: 'Karl Johans gate 5', city: 'Oslo', state: null, postalCode: '0154', country: 'Norway', usageLocation: 'NO', phone: (d) => `+47 ${d.slice(0, 8)}`, language: 'nb-NO', weight: 4 },
  { officeLocation: 'Bengaluru / 9', street: '80 MG Road', city: 'Bengaluru', state: 'Karnataka', postalCode: '560001', country: 'India', usageLocation: 'IN', phone: (d) => `+91 80 ${d.slice(0, 8)}`, language: 'en-IN', weight: 14 },
  { officeLocation: 'Shanghai / 21', street: '100 Century Avenue', city: '上海', state: 'Shanghai', postalCode: '200120', country: 'China', usageLocation: 'CN', phone: (d) => `+86 21 ${d.slice(0, 8)}`, language: 'zh-CN', weight: 5 },
  { officeLocation: 'São Paulo / 4', street: 'Av. Paulista 1000', city: 'São Paulo', state: 'SP', postalCode: '01310-100', country: 'Brazil', usageLocation: 'BR', phone: (d) => `+55 11 ${d.slice(0, 9)}`, language: 'pt-BR', weight: 5 },
];

export const GUEST_DOMAINS = ['fabrikam.com', 'northwindtraders.com', 'adatum.com', 'gmail.com', 'tailspintoys.com'];

export const PROJECTS = ['apollo', 'zephyr', 'nimbus', 'orion', 'atlas'];

export const CERTIFICATIONS = ['ISO27001', 'SOC2', 'PCI'];
