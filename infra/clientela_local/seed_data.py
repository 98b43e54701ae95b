"""What the demo store is made of: its customers' names, cities, phones and languages, and the
small catalogue they buy from, priced in each market's currency.

Names keep their accents on purpose (João, Núñez, Niccolò, Zoë): they are what a store's real
customer list looks like, and what search, sorting and exports must get right.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# fmt: off
FIRST_NAMES = {  # by locale, then by the gender the name usually goes with
    "pt-BR": {
        "male": [
            "João", "José", "Antônio", "Luís", "Sérgio", "Mário", "Caio", "Thiago", "Vinícius",
            "Otávio",
        ],
        "female": [
            "Maria", "Ana", "Conceição", "Fátima", "Beatriz", "Lúcia", "Cecília", "Letícia",
            "Júlia", "Vitória", "Rafaela", "Bárbara", "Mônica", "Flávia",
        ],
    },
    "pt-PT": {
        "male": ["João", "Gonçalo", "Tomás", "Rodrigo", "Duarte", "Afonso", "Simão"],
        "female": [
            "Inês", "Leonor", "Matilde", "Beatriz", "Carolina", "Mariana", "Sílvia", "Graça",
            "Luísa",
        ],
    },
    "es": {
        "male": [
            "José", "Álvaro", "Andrés", "Íñigo", "Sebastián", "Martín", "Ramón", "Raúl", "Jesús",
            "Ángel", "Joaquín", "Germán", "Agustín",
        ],
        "female": [
            "María", "Lucía", "Sofía", "Begoña", "Nuria", "Valentina", "Inés", "Dolores",
            "Camila", "Ximena", "Mónica", "Verónica",
        ],
    },
    "it": {
        "male": [
            "Giuseppe", "Niccolò", "Matteo", "Alessandro", "Lorenzo", "Riccardo", "Gianluca",
            "Nicolò",
        ],
        "female": [
            "Francesca", "Chiara", "Giulia", "Federica", "Elisa", "Martina", "Caterina",
            "Ludovica", "Noemi", "Aurora",
        ],
    },
    "en": {
        "male": ["Oliver", "Harry", "George", "Noah", "Jack", "Liam", "Ethan"],
        "female": [
            "Amelia", "Isla", "Ava", "Emily", "Sophie", "Olivia", "Zoë", "Renée", "Chloë",
            "Grace", "Hannah",
        ],
    },
}

LAST_NAMES = {
    "pt": [
        "Silva", "Santos", "Oliveira", "Souza", "Gonçalves", "Araújo", "Conceição",
        "Magalhães", "Simões", "Brandão", "Falcão", "Guimarães", "Lopes", "Fernandes",
        "Assunção", "Pereira", "Mendonça", "Ribeiro", "Gusmão", "Romão",
    ],
    "es": [
        "García", "Martínez", "López", "González", "Rodríguez", "Fernández", "Sánchez", "Pérez",
        "Gómez", "Muñoz", "Jiménez", "Ibáñez", "Núñez", "Peña", "Castañeda", "Domínguez",
        "Hernández", "Ordóñez", "Echeverría", "Giménez",
    ],
    "it": [
        "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
        "Marino", "Greco", "De Luca", "D'Amico", "D'Angelo", "Mancini", "Lombardi", "Moretti",
        "Fontana", "Caruso", "Santoro", "Parisi",
    ],
    "en": [
        "Smith", "Jones", "Williams", "Brown", "Taylor", "O'Brien", "O'Connor", "McDonald",
        "Evans", "Walker", "Wright", "Thompson", "Johnson", "Miller", "Davis", "Clarke",
        "Hughes", "Robinson",
    ],
}


@dataclass(frozen=True)
class City:
    name: str
    mobile_prefix: str  # how its mobile numbers start
    region: str  # state, province, region or county, as a checkout form asks for it


@dataclass(frozen=True)
class Country:
    code: str
    weight: int  # how many of the store's customers live there, relatively
    first_names: str
    last_names: str
    cities: tuple[City, ...]
    calling_code: str
    national_digits: int  # digits after the calling code, prefix included
    language: str  # BCP 47: the storefront's locale there
    currency: str  # ISO 4217: what the store charges there
    utc_offset: int  # hours; the store platform reports times in local time
    company_suffix: str  # of the businesses that buy wholesale


COUNTRIES = (
    Country(
        "BR", 30, "pt-BR", "pt",
        (
            City("São Paulo", "119", "São Paulo"), City("Rio de Janeiro", "219", "Rio de Janeiro"),
            City("Belo Horizonte", "319", "Minas Gerais"), City("Curitiba", "419", "Paraná"),
            City("Porto Alegre", "519", "Rio Grande do Sul"), City("Salvador", "719", "Bahia"),
            City("Recife", "819", "Pernambuco"), City("Fortaleza", "859", "Ceará"),
            City("Brasília", "619", "Distrito Federal"),
            City("Florianópolis", "489", "Santa Catarina"), City("Goiânia", "629", "Goiás"),
            City("Belém", "919", "Pará"),
        ),
        "55", 11, "pt-BR", "BRL", -3, "Ltda.",
    ),
    Country(
        "PT", 10, "pt-PT", "pt",
        (
            City("Lisboa", "91", "Lisboa"), City("Porto", "93", "Porto"),
            City("Braga", "96", "Braga"), City("Coimbra", "92", "Coimbra"),
            City("Faro", "91", "Faro"), City("Évora", "96", "Évora"),
            City("Aveiro", "93", "Aveiro"), City("Funchal", "92", "Madeira"),
        ),
        "351", 9, "pt-PT", "EUR", 0, "Lda.",
    ),
    Country(
        "ES", 12, "es", "es",
        (
            City("Madrid", "6", "Comunidad de Madrid"), City("Barcelona", "6", "Cataluña"),
            City("Valencia", "6", "Comunitat Valenciana"), City("Sevilla", "6", "Andalucía"),
            City("Málaga", "6", "Andalucía"), City("Bilbao", "6", "País Vasco"),
            City("Zaragoza", "6", "Aragón"), City("A Coruña", "6", "Galicia"),
            City("Córdoba", "6", "Andalucía"), City("Cádiz", "6", "Andalucía"),
        ),
        "34", 9, "es-ES", "EUR", 1, "S.L.",
    ),
    # Argentine mobiles are dialled internationally with a 9 before the area code.
    Country(
        "AR", 8, "es", "es",
        (
            City("Buenos Aires", "911", "Ciudad Autónoma de Buenos Aires"),
            City("Rosario", "9341", "Santa Fe"), City("Mendoza", "9261", "Mendoza"),
            City("La Plata", "9221", "Buenos Aires"),
        ),
        "54", 11, "es-AR", "USD", -3, "S.R.L.",
    ),
    Country(
        "MX", 10, "es", "es",
        (
            City("Ciudad de México", "55", "Ciudad de México"),
            City("Guadalajara", "33", "Jalisco"), City("Monterrey", "81", "Nuevo León"),
            City("Puebla", "222", "Puebla"), City("Mérida", "999", "Yucatán"),
            City("Querétaro", "442", "Querétaro"),
        ),
        "52", 10, "es-MX", "USD", -6, "S.A. de C.V.",
    ),
    Country(
        "CO", 3, "es", "es",
        (
            City("Bogotá", "31", "Bogotá D.C."), City("Medellín", "30", "Antioquia"),
            City("Cali", "31", "Valle del Cauca"), City("Barranquilla", "30", "Atlántico"),
        ),
        "57", 10, "es-CO", "USD", -5, "S.A.S.",
    ),
    Country(
        "IT", 10, "it", "it",
        (
            City("Roma", "347", "Lazio"), City("Milano", "338", "Lombardia"),
            City("Napoli", "333", "Campania"), City("Torino", "349", "Piemonte"),
            City("Bologna", "328", "Emilia-Romagna"), City("Firenze", "340", "Toscana"),
            City("Palermo", "388", "Sicilia"), City("Genova", "392", "Liguria"),
        ),
        "39", 10, "it-IT", "EUR", 1, "S.r.l.",
    ),
    Country(
        "GB", 7, "en", "en",
        (
            City("London", "74", "Greater London"), City("Manchester", "75", "Greater Manchester"),
            City("Birmingham", "77", "West Midlands"), City("Leeds", "78", "West Yorkshire"),
            City("Glasgow", "79", "Glasgow City"), City("Edinburgh", "74", "City of Edinburgh"),
            City("Bristol", "75", "Bristol"), City("Cardiff", "77", "Cardiff"),
        ),
        "44", 10, "en-GB", "GBP", 0, "Ltd",
    ),
    Country(
        "US", 10, "en", "en",
        (
            City("New York", "212", "New York"), City("Los Angeles", "213", "California"),
            City("Chicago", "312", "Illinois"), City("Houston", "713", "Texas"),
            City("Seattle", "206", "Washington"), City("Boston", "617", "Massachusetts"),
            City("Miami", "305", "Florida"), City("Austin", "512", "Texas"),
            City("San Francisco", "415", "California"), City("Denver", "303", "Colorado"),
        ),
        "1", 10, "en-US", "USD", -5, "LLC",
    ),
)
COUNTRY_BY_CODE = {country.code: country for country in COUNTRIES}

# Tags a store uses to segment customers, with how often each one appears. The order story
# follows some of them: `first-order` customers have one order, `repeat-buyer` several, `vip`
# are the big spenders, `winback` have not ordered for months, `wholesale` and `b2b` buy in
# bulk, `abandoned-cart` left something in their cart lately. `newsletter` stays only on
# customers subscribed to e-mail.
TAGS = {
    "newsletter": 40,
    "vip": 8,
    "wholesale": 5,
    "winback": 10,
    "first-order": 25,
    "repeat-buyer": 20,
    "abandoned-cart": 12,
    "referral": 6,
    "b2b": 4,
    "staff": 2,
}
# Tags that say the customer bought: a customer who only gave a phone never ordered online.
BUYER_TAGS = frozenset({"vip", "wholesale", "winback", "first-order", "repeat-buyer", "b2b"})

# What the back office wrote about a few customers (staff write them in English).
NOTES = (
    "Prefers delivery after 6 pm: nobody at home during the day.",
    "Asked for invoices with the company VAT number.",
    "Sensitive skin: fragrance-free samples only.",
    "Returned two orders for size; suggested the size guide.",
    "Called about a late parcel. Offered free shipping on the next order.",
    "Buys gifts: wrap every order, no prices on the packing slip.",
    "Met at the spring pop-up in {city}.\nInterested in the new home collection.",
    "Wholesale contact for a concept store in {city}.",
    "Prefers to be contacted by e-mail, not by phone.",
)
LOYALTY_TIERS = ("bronze", "silver", "gold")

# fmt: on

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
CURRENCIES = ("BRL", "EUR", "GBP", "USD")


@dataclass(frozen=True)
class Product:
    product_id: str
    sku: str  # sized products add the size: MARE-TEE-M, SOL-SNK-41
    name: str
    brand: str
    category: str
    prices: dict[str, Decimal]  # by currency: set by hand per market, as shops do
    popularity: int  # how often it sells, relatively
    sizes: tuple[str, ...] = ()

    def price(self, currency: str) -> Decimal:
        return self.prices[currency]

    def sku_of(self, size: str | None) -> str:
        return self.sku if size is None else f"{self.sku}-{size}"


def _products(
    brand: str, category: str, sizes: tuple[str, ...], *rows: tuple[str, str, str, str, int]
) -> tuple[Product, ...]:
    """Rows of (product id, SKU, name, "EUR BRL GBP USD" prices, popularity)."""
    products = []
    for product_id, sku, name, prices, popularity in rows:
        by_currency = {
            currency: Decimal(price)
            for currency, price in zip(("EUR", "BRL", "GBP", "USD"), prices.split(), strict=True)
        }
        products.append(
            Product(product_id, sku, name, brand, category, by_currency, popularity, sizes)
        )
    return tuple(products)


CLOTHING_SIZES = ("XS", "S", "M", "L", "XL")
SHOE_SIZES = tuple(str(size) for size in range(36, 46))

# fmt: off
CATALOGUE = (  # prices: EUR, BRL, GBP, USD
    *_products(
        "Maré", "Apparel", CLOTHING_SIZES,
        ("P1001", "MARE-TEE", "Organic Cotton T-Shirt", "24.90 119.90 21.99 27.99", 14),
        ("P1002", "MARE-LINSH", "Linen Shirt", "49.90 249.90 44.99 54.99", 7),
        ("P1003", "MARE-HOOD", "Heavyweight Hoodie", "69.00 329.90 59.99 74.99", 6),
        ("P1004", "MARE-DRESS", "Midi Wrap Dress", "79.00 389.90 69.99 84.99", 5),
        ("P1005", "MARE-CHINO", "Slim Chinos", "59.90 279.90 52.99 64.99", 5),
    ),
    *_products(
        "Solera", "Footwear", SHOE_SIZES,
        ("P2001", "SOL-SNK", "Canvas Sneakers", "64.90 299.90 56.99 69.99", 8),
        ("P2002", "SOL-LOAF", "Leather Loafers", "119.00 599.90 104.99 129.99", 3),
        ("P2003", "SOL-ESP", "Jute Espadrilles", "34.90 159.90 29.99 37.99", 6),
    ),
    *_products(
        "Tessa", "Accessories", (),
        ("P3001", "TES-TOTE", "Canvas Tote Bag", "29.90 129.90 25.99 32.99", 9),
        ("P3002", "TES-BKPK", "Leather Backpack", "149.00 749.90 129.99 159.99", 2),
        ("P3003", "TES-WALL", "Card Wallet", "39.00 179.90 34.99 42.99", 6),
        ("P3004", "TES-SUNG", "Tortoiseshell Sunglasses", "59.00 289.90 49.99 64.99", 4),
    ),
    *_products(
        "Bosque & Co.", "Home", (),
        ("P4001", "BSQ-MUG", "Stoneware Mug", "14.90 69.90 12.99 15.99", 12),
        ("P4002", "BSQ-CNDL", "Fig & Cedar Candle", "22.00 99.90 18.99 23.99", 11),
        ("P4003", "BSQ-THRW", "Wool Throw Blanket", "89.00 449.90 79.99 96.99", 3),
        ("P4004", "BSQ-BED", "Linen Bedding Set", "159.00 799.90 139.99 169.99", 2),
    ),
    *_products(
        "Lúmina", "Beauty", (),
        ("P5001", "LUM-SERUM", "Vitamin C Serum", "32.50 149.90 27.99 34.99", 10),
        ("P5002", "LUM-CREAM", "Daily Moisturiser", "27.90 129.90 23.99 29.99", 9),
        ("P5003", "LUM-SPF", "Mineral Sunscreen SPF 50", "19.90 89.90 16.99 21.99", 8),
        ("P5004", "LUM-GIFT", "Skincare Gift Set", "74.00 349.90 64.99 79.99", 4),
    ),
    *_products(
        "Nordvik", "Outdoor", (),
        ("P6001", "NRD-BOTL", "Insulated Bottle 750 ml", "29.00 139.90 24.99 31.99", 7),
    ),
    *_products(
        "Nordvik", "Outdoor", CLOTHING_SIZES,
        ("P6002", "NRD-JCKT", "Packable Rain Jacket", "129.00 649.90 114.99 139.99", 3),
    ),
)
# fmt: on

# What big spenders add to their baskets: the catalogue's dearest things.
PREMIUM = tuple(product for product in CATALOGUE if product.prices["EUR"] >= 89)

# What the store's booking scheduler and events sell (orders of kind `booking` and `ticket`),
# with how long each service takes.
# fmt: off
SERVICES = _products(
    "Maré Studio", "Services", (),
    ("S5001", "STUDIO-FIT", "Tailoring Fitting", "25.00 119.90 22.00 27.00", 3),
    ("S5002", "STUDIO-STYLE", "Personal Styling Session", "60.00 289.90 52.00 65.00", 2),
)
EVENTS = _products(
    "Maré Studio", "Events", (),
    ("E6001", "EVT-CANDLE", "Candle-Making Workshop", "35.00 169.90 30.00 38.00", 2),
    ("E6002", "EVT-NIGHT", "Private Sale Evening", "10.00 49.90 9.00 11.00", 3),
)
# fmt: on
SERVICE_MINUTES = {"S5001": 45, "S5002": 90}

# When people shop (local time): quiet at night, busy in the evening.
HOUR_WEIGHTS = (
    1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 6, 6, 6, 6, 7, 8, 10, 11, 10, 7, 3,
)  # fmt: skip
DEVICES = {"mobile": 58, "desktop": 32, "app": 10}
# Documentation address ranges (RFC 5737, RFC 3849): believable, never anyone's.
IP_PREFIXES = ("192.0.2.", "198.51.100.", "203.0.113.")
