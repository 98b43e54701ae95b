"""What the demo store's customers are made of: names, cities and phone plans per country.

Names keep their accents on purpose (João, Núñez, Niccolò, Zoë): they are what a store's real
customer list looks like, and what search, sorting and exports must get right.
"""

from __future__ import annotations

from dataclasses import dataclass

# fmt: off
FIRST_NAMES = {
    "pt-BR": [
        "João", "José", "Antônio", "Luís", "Sérgio", "Mário", "Caio", "Thiago", "Vinícius",
        "Otávio", "Maria", "Ana", "Conceição", "Fátima", "Beatriz", "Lúcia", "Cecília",
        "Letícia", "Júlia", "Vitória", "Rafaela", "Bárbara", "Mônica", "Flávia",
    ],
    "pt-PT": [
        "João", "Gonçalo", "Tomás", "Rodrigo", "Duarte", "Afonso", "Simão", "Inês", "Leonor",
        "Matilde", "Beatriz", "Carolina", "Mariana", "Sílvia", "Graça", "Luísa",
    ],
    "es": [
        "José", "Álvaro", "Andrés", "Íñigo", "Sebastián", "Martín", "Ramón", "Raúl", "Jesús",
        "Ángel", "Joaquín", "Germán", "Agustín", "María", "Lucía", "Sofía", "Begoña", "Nuria",
        "Valentina", "Inés", "Dolores", "Camila", "Ximena", "Mónica", "Verónica",
    ],
    "it": [
        "Giuseppe", "Niccolò", "Matteo", "Alessandro", "Lorenzo", "Riccardo", "Gianluca",
        "Nicolò", "Francesca", "Chiara", "Giulia", "Federica", "Elisa", "Martina", "Caterina",
        "Ludovica", "Noemi", "Aurora",
    ],
    "en": [
        "Oliver", "Harry", "George", "Noah", "Jack", "Liam", "Ethan", "Amelia", "Isla", "Ava",
        "Emily", "Sophie", "Olivia", "Zoë", "Renée", "Chloë", "Grace", "Hannah",
    ],
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
class Country:
    code: str
    weight: int  # how many of the store's customers live there, relatively
    first_names: str
    last_names: str
    cities: tuple[tuple[str, str], ...]  # (city, how its mobile numbers start)
    calling_code: str
    national_digits: int  # digits after the calling code, prefix included


COUNTRIES = (
    Country(
        "BR", 30, "pt-BR", "pt",
        (
            ("São Paulo", "119"), ("Rio de Janeiro", "219"), ("Belo Horizonte", "319"),
            ("Curitiba", "419"), ("Porto Alegre", "519"), ("Salvador", "719"),
            ("Recife", "819"), ("Fortaleza", "859"), ("Brasília", "619"),
            ("Florianópolis", "489"), ("Goiânia", "629"), ("Belém", "919"),
        ),
        "55", 11,
    ),
    Country(
        "PT", 10, "pt-PT", "pt",
        (
            ("Lisboa", "91"), ("Porto", "93"), ("Braga", "96"), ("Coimbra", "92"),
            ("Faro", "91"), ("Évora", "96"), ("Aveiro", "93"), ("Funchal", "92"),
        ),
        "351", 9,
    ),
    Country(
        "ES", 12, "es", "es",
        (
            ("Madrid", "6"), ("Barcelona", "6"), ("Valencia", "6"), ("Sevilla", "6"),
            ("Málaga", "6"), ("Bilbao", "6"), ("Zaragoza", "6"), ("A Coruña", "6"),
            ("Córdoba", "6"), ("Cádiz", "6"),
        ),
        "34", 9,
    ),
    # Argentine mobiles are dialled internationally with a 9 before the area code.
    Country(
        "AR", 8, "es", "es",
        (("Buenos Aires", "911"), ("Rosario", "9341"), ("Mendoza", "9261"), ("La Plata", "9221")),
        "54", 11,
    ),
    Country(
        "MX", 10, "es", "es",
        (
            ("Ciudad de México", "55"), ("Guadalajara", "33"), ("Monterrey", "81"),
            ("Puebla", "222"), ("Mérida", "999"), ("Querétaro", "442"),
        ),
        "52", 10,
    ),
    Country(
        "CO", 3, "es", "es",
        (("Bogotá", "31"), ("Medellín", "30"), ("Cali", "31"), ("Barranquilla", "30")),
        "57", 10,
    ),
    Country(
        "IT", 10, "it", "it",
        (
            ("Roma", "347"), ("Milano", "338"), ("Napoli", "333"), ("Torino", "349"),
            ("Bologna", "328"), ("Firenze", "340"), ("Palermo", "388"), ("Genova", "392"),
        ),
        "39", 10,
    ),
    Country(
        "GB", 7, "en", "en",
        (
            ("London", "74"), ("Manchester", "75"), ("Birmingham", "77"), ("Leeds", "78"),
            ("Glasgow", "79"), ("Edinburgh", "74"), ("Bristol", "75"), ("Cardiff", "77"),
        ),
        "44", 10,
    ),
    Country(
        "US", 10, "en", "en",
        (
            ("New York", "212"), ("Los Angeles", "213"), ("Chicago", "312"), ("Houston", "713"),
            ("Seattle", "206"), ("Boston", "617"), ("Miami", "305"), ("Austin", "512"),
            ("San Francisco", "415"), ("Denver", "303"),
        ),
        "1", 10,
    ),
)

# Tags a store uses to segment customers, with how often each one appears.
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

# fmt: on

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
