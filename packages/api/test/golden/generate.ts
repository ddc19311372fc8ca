import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The golden data set: a small shop's 2024 in three related CSVs, made up here from a fixed seed so that every
 * run writes the same bytes and the answers in `questions.ts` stay true. Nothing in it comes from outside.
 *
 * - `products.csv`: 40 products (`product_id` 101..140) in 5 categories, with list prices; some names are not
 *   ASCII, one holds a comma and one a double quote (quoted the CSV way).
 * - `customers.csv`: 400 customers (`customer_id` 1001..1400), segment, country, signup date, age (missing
 *   for some).
 * - `sales.csv`: 5,000 orders over 2024 (busier towards the end of the year), each one product: units, the unit
 *   price actually charged (list price less a discount, sometimes), revenue. `customer_id` is empty for guest
 *   orders and `region` for some orders. Products 139 and 140 are never ordered.
 */
const GOLDEN_SEED = 20_240_101;
const ORDER_COUNT = 5000;

export interface GoldenFile {
  filename: string;
  path: string;
  rowCount: number;
}

/** Writes the CSVs into `dir` (created if needed) and says what it wrote. */
export function generateGoldenData(dir: string): GoldenFile[] {
  mkdirSync(dir, { recursive: true });
  const random = mulberry32(GOLDEN_SEED);
  const products = makeProducts(random);
  const customers = makeCustomers(random);
  const sales = makeSales(random, products, customers);
  const tables: [string, string[], Cell[][]][] = [
    [
      'sales.csv',
      ['order_id', 'order_date', 'customer_id', 'region', 'product_id', 'units', 'unit_price', 'revenue'],
      sales,
    ],
    [
      'products.csv',
      ['product_id', 'name', 'category', 'list_price'],
      products.map((product) => [product.id, product.name, product.category, cents(product.listPriceCents)]),
    ],
    [
      'customers.csv',
      ['customer_id', 'segment', 'country', 'signup_date', 'age'],
      customers.map((customer) => [
        customer.id,
        customer.segment,
        customer.country,
        customer.signupDate,
        customer.age,
      ]),
    ],
  ];
  return tables.map(([filename, header, rows]) => {
    const path = join(dir, filename);
    writeFileSync(path, toCsv(header, rows));
    return { filename, path, rowCount: rows.length };
  });
}

type Random = () => number;
type Cell = string | number | null;

/** mulberry32: a tiny, well-mixed 32-bit generator; the same seed gives the same sequence on every platform. */
function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const integerBelow = (random: Random, n: number) => Math.floor(random() * n);

function pick<T>(random: Random, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0);
  let target = random() * total;
  for (const [item, weight] of items) {
    target -= weight;
    if (target < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** Money is kept in whole cents so no floating-point rounding gets into the files. */
const cents = (amount: number) => `${Math.floor(amount / 100)}.${String(amount % 100).padStart(2, '0')}`;

const CATALOGUE: Record<string, { names: string[]; priceRange: [number, number] }> = {
  Electronics: {
    names: [
      'Wireless Earbuds',
      'USB-C Charger',
      'Smart Speaker',
      'Noise-Cancelling Headphones',
      'Action Camera',
      'E-Reader',
      'Bluetooth Keyboard',
      'Portable SSD 1TB',
    ],
    priceRange: [19, 249],
  },
  Home: {
    names: [
      'Café Espresso Cups',
      'Crème Brûlée Torch',
      'Linen Duvet Cover',
      "Chef's Knife, 8 inch",
      'Cast Iron Skillet',
      'Smörgås Cutting Board',
      'Ceramic Vase',
      'Scented Candle Set',
    ],
    priceRange: [12, 129],
  },
  Outdoor: {
    names: [
      'Trail Backpack 30L',
      'Camping Lantern',
      'Insulated Bottle',
      'Folding Chair',
      'Hammock',
      'Rain Poncho',
      'Trekking Poles',
      'Two-Person Tent',
    ],
    priceRange: [9, 199],
  },
  Toys: {
    names: [
      'Piñata Party Kit',
      'Wooden Train Set',
      'Building Blocks 500',
      '"Big Bear" Plush',
      'Puzzle 1000 Pieces',
      'Kite',
      'Board Game Night',
      'Science Kit',
    ],
    priceRange: [8, 79],
  },
  Grocery: {
    names: [
      'Jalapeño Hot Sauce',
      'Müsli Crunch',
      'Kyōto Green Tea',
      'Olive Oil 1L',
      'Dark Chocolate Bar',
      'Maple Syrup',
      'Ground Coffee 500g',
      'Trail Mix',
    ],
    priceRange: [3, 29],
  },
};

interface Product {
  id: number;
  name: string;
  category: string;
  listPriceCents: number;
  /** How often it is ordered, relative to the others. */
  popularity: number;
}

function makeProducts(random: Random): Product[] {
  const products: Product[] = [];
  for (const [category, { names, priceRange }] of Object.entries(CATALOGUE)) {
    for (const name of names) {
      const [low, high] = priceRange;
      // Shop prices end in .99 or .49.
      const dollars = low + integerBelow(random, high - low + 1);
      products.push({
        id: 101 + products.length,
        name,
        category,
        listPriceCents: dollars * 100 + (random() < 0.7 ? 99 : 49),
        popularity: 0,
      });
    }
  }
  // A long tail: a few best sellers, many slow ones; the last two are new and have no orders yet.
  const ranked = products.slice(0, -2);
  shuffle(random, ranked);
  ranked.forEach((product, rank) => {
    product.popularity = 1 / (rank + 3);
  });
  return products;
}

function shuffle<T>(random: Random, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = integerBelow(random, i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

interface Customer {
  id: number;
  segment: string;
  country: string;
  signupDate: string;
  age: number | null;
  activity: number;
}

const SEGMENTS = [
  ['Consumer', 60],
  ['Small Business', 30],
  ['Enterprise', 10],
] as const;
const COUNTRIES = [
  ['United States', 40],
  ['Canada', 12],
  ['Mexico', 8],
  ['Germany', 10],
  ['France', 9],
  ['Türkiye', 5],
  ['Brazil', 6],
  ['Japan', 6],
  ['Côte d’Ivoire', 2],
  ['Australia', 2],
] as const;

function makeCustomers(random: Random): Customer[] {
  return Array.from({ length: 400 }, (_, i) => ({
    id: 1001 + i,
    segment: pick(random, SEGMENTS),
    country: pick(random, COUNTRIES),
    signupDate: isoDate(Date.UTC(2021, 0, 1) + integerBelow(random, 4 * 365) * DAY_MS),
    // About one customer in twelve never gave an age.
    age: random() < 0.08 ? null : 18 + integerBelow(random, 40) + integerBelow(random, 20),
    // Some customers order far more often than others.
    activity: 0.2 + random() ** 2 * 3,
  }));
}

const DAY_MS = 86_400_000;
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const DAYS_IN_2024 = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Orders per month, relative: quiet in February, busy before the holidays. */
const MONTH_WEIGHTS = [7, 6, 7, 8, 8, 8, 9, 8, 8, 9, 12, 14];
const REGIONS = [
  ['North', 30],
  ['South', 25],
  ['East', 25],
  ['West', 18],
  [null, 2],
] as const;
/** Most orders pay list price; the rest get 10% or 20% off. */
const DISCOUNTS = [
  [0, 60],
  [10, 25],
  [20, 15],
] as const;

function makeSales(random: Random, products: Product[], customers: Customer[]): Cell[][] {
  const productWeights = products.map((product) => [product, product.popularity] as const);
  const customerWeights = customers.map((customer) => [customer, customer.activity] as const);
  const months = MONTH_WEIGHTS.map((weight, month) => [month, weight] as const);
  const orders = Array.from({ length: ORDER_COUNT }, () => {
    const month = pick(random, months);
    const day = 1 + integerBelow(random, DAYS_IN_2024[month]!);
    const product = pick(random, productWeights);
    const guest = random() < 0.05;
    const customer = pick(random, customerWeights);
    const region = pick(random, REGIONS);
    // Mostly one to three units, now and then a bulk order.
    const units = random() < 0.04 ? 10 + integerBelow(random, 41) : 1 + Math.floor(random() ** 2 * 6);
    const discount = pick(random, DISCOUNTS);
    const unitPriceCents = Math.round((product.listPriceCents * (100 - discount)) / 100);
    return {
      date: isoDate(Date.UTC(2024, month, day)),
      customerId: guest ? null : customer.id,
      region,
      productId: product.id,
      units,
      unitPriceCents,
    };
  });
  // Order ids follow the calendar, as a shop's system would number them.
  orders.sort((a, b) => a.date.localeCompare(b.date));
  return orders.map((order, i) => [
    100_001 + i,
    order.date,
    order.customerId,
    order.region,
    order.productId,
    order.units,
    cents(order.unitPriceCents),
    cents(order.units * order.unitPriceCents),
  ]);
}

function toCsv(header: string[], rows: Cell[][]): string {
  const field = (value: Cell) => {
    if (value === null) return '';
    const text = String(value);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return `${[header, ...rows].map((row) => row.map(field).join(',')).join('\n')}\n`;
}
