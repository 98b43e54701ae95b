"""The built-in templates every store has, in pt-BR, es, it and en.

Their ids start with `builtin-` (flows reference them by id); a store reads them like its own
and copies one (`POST /templates` with `from_builtin`) to change it. The variables each needs
besides `customer`, `shop` and `unsubscribe_url` are listed in `variables`.
"""

from __future__ import annotations

from chalicelib.automation.templates.rules import Content, Template

PREFIX = "builtin-"

_GREETING = {
    "pt-BR": "Olá{% if customer.first_name %}, {{ customer.first_name }}{% endif %}!",
    "es": "¡Hola{% if customer.first_name %}, {{ customer.first_name }}{% endif %}!",
    "it": "Ciao{% if customer.first_name %} {{ customer.first_name }}{% endif %}!",
    "en": "Hi{% if customer.first_name %} {{ customer.first_name }}{% endif %},",
}
_UNSUBSCRIBE = {
    "pt-BR": "Não quer mais receber estes e-mails?",
    "es": "¿No quieres recibir más estos correos?",
    "it": "Non vuoi più ricevere queste e-mail?",
    "en": "Don't want these e-mails any more?",
}
_UNSUBSCRIBE_LINK = {
    "pt-BR": "Cancelar inscrição",
    "es": "Darse de baja",
    "it": "Annulla l'iscrizione",
    "en": "Unsubscribe",
}

_ITEMS = (
    "<ul>{% for item in cart['items'] %}<li>{{ item.name }} &times; {{ item.quantity }}"
    "</li>{% endfor %}</ul>"
)

# name: (variables, button link, {language: (subject, paragraph, button label)})
_TEXTS: dict[str, tuple[tuple[str, ...], str, dict[str, tuple[str, str, str]]]] = {
    "abandoned-cart": (
        ("cart",),
        "{{ cart.url }}",
        {
            "pt-BR": (
                "Você esqueceu algo no carrinho da {{ shop.name }}",
                "Seus produtos ainda estão esperando por você:" + _ITEMS,
                "Voltar ao carrinho",
            ),
            "es": (
                "Olvidaste algo en tu carrito de {{ shop.name }}",
                "Tus productos todavía te esperan:" + _ITEMS,
                "Volver al carrito",
            ),
            "it": (
                "Hai dimenticato qualcosa nel carrello di {{ shop.name }}",
                "I tuoi prodotti ti aspettano ancora:" + _ITEMS,
                "Torna al carrello",
            ),
            "en": (
                "You left something in your {{ shop.name }} cart",
                "Your items are still waiting for you:" + _ITEMS,
                "Back to your cart",
            ),
        },
    ),
    "welcome": (
        (),
        "{{ shop.url }}",
        {
            "pt-BR": (
                "Bem-vindo(a) à {{ shop.name }}",
                "Que bom ter você por aqui. Conheça nossas novidades.",
                "Visitar a loja",
            ),
            "es": (
                "Bienvenido(a) a {{ shop.name }}",
                "Nos alegra tenerte aquí. Descubre nuestras novedades.",
                "Visitar la tienda",
            ),
            "it": (
                "Benvenuto/a da {{ shop.name }}",
                "Siamo felici di averti con noi. Scopri le nostre novità.",
                "Visita il negozio",
            ),
            "en": (
                "Welcome to {{ shop.name }}",
                "We're glad you're here. Take a look at what's new.",
                "Visit the shop",
            ),
        },
    ),
    "win-back": (
        (),
        "{{ shop.url }}",
        {
            "pt-BR": (
                "Sentimos sua falta na {{ shop.name }}",
                "Faz tempo que você não aparece. Temos muitas novidades para você.",
                "Ver novidades",
            ),
            "es": (
                "Te echamos de menos en {{ shop.name }}",
                "Hace tiempo que no te vemos. Tenemos muchas novedades para ti.",
                "Ver novedades",
            ),
            "it": (
                "Ci manchi, da {{ shop.name }}",
                "È da un po' che non ti vediamo. Abbiamo tante novità per te.",
                "Scopri le novità",
            ),
            "en": (
                "We miss you at {{ shop.name }}",
                "It's been a while. There's a lot that's new since your last visit.",
                "See what's new",
            ),
        },
    ),
    "review-request": (
        ("order",),
        "{{ order.review_url }}",
        {
            "pt-BR": (
                "O que achou do seu pedido {{ order.id }}?",
                "Sua opinião ajuda outros clientes da {{ shop.name }}.",
                "Avaliar",
            ),
            "es": (
                "¿Qué te pareció tu pedido {{ order.id }}?",
                "Tu opinión ayuda a otros clientes de {{ shop.name }}.",
                "Opinar",
            ),
            "it": (
                "Com'è andato il tuo ordine {{ order.id }}?",
                "La tua opinione aiuta gli altri clienti di {{ shop.name }}.",
                "Lascia una recensione",
            ),
            "en": (
                "How was your order {{ order.id }}?",
                "Your review helps other {{ shop.name }} customers.",
                "Write a review",
            ),
        },
    ),
    "birthday": (
        (),
        "{{ shop.url }}",
        {
            "pt-BR": (
                "Feliz aniversário! 🎂",
                "Toda a equipe da {{ shop.name }} deseja um dia incrível para você.",
                "Comemorar com a gente",
            ),
            "es": (
                "¡Feliz cumpleaños! 🎂",
                "Todo el equipo de {{ shop.name }} te desea un día increíble.",
                "Celebrar con nosotros",
            ),
            "it": (
                "Buon compleanno! 🎂",
                "Tutto il team di {{ shop.name }} ti augura una splendida giornata.",
                "Festeggia con noi",
            ),
            "en": (
                "Happy birthday! 🎂",
                "Everyone at {{ shop.name }} wishes you a wonderful day.",
                "Celebrate with us",
            ),
        },
    ),
    "credit-expiring": (
        ("credit",),
        "{{ shop.url }}",
        {
            "pt-BR": (
                "Seu crédito de {{ credit.amount }} expira em {{ credit.expires_on }}",
                "Use seu crédito na {{ shop.name }} antes que ele expire.",
                "Usar meu crédito",
            ),
            "es": (
                "Tu crédito de {{ credit.amount }} vence el {{ credit.expires_on }}",
                "Usa tu crédito en {{ shop.name }} antes de que venza.",
                "Usar mi crédito",
            ),
            "it": (
                "Il tuo credito di {{ credit.amount }} scade il {{ credit.expires_on }}",
                "Usa il tuo credito da {{ shop.name }} prima che scada.",
                "Usa il mio credito",
            ),
            "en": (
                "Your {{ credit.amount }} credit expires on {{ credit.expires_on }}",
                "Spend your {{ shop.name }} credit before it expires.",
                "Use my credit",
            ),
        },
    ),
}

_NAMES = {
    "abandoned-cart": "Abandoned cart reminder",
    "welcome": "Welcome",
    "win-back": "Win-back",
    "review-request": "Review request",
    "birthday": "Birthday",
    "credit-expiring": "Credit expiring",
}


def _html(language: str, link: str, paragraph: str, button: str) -> str:
    return (
        '<html><body style="font-family:sans-serif">'
        f"<p>{_GREETING[language]}</p><p>{paragraph}</p>"
        f'<p><a href="{link}" style="padding:8px 16px;background:#222;color:#fff">{button}</a>'
        "</p>"
        '<p style="font-size:12px;color:#777">'
        f'{_UNSUBSCRIBE[language]} <a href="{{{{ unsubscribe_url }}}}">'
        f"{_UNSUBSCRIBE_LINK[language]}</a></p></body></html>"
    )


def _template(name: str) -> Template:
    variables, link, texts = _TEXTS[name]
    contents = {
        language: Content(subject=subject, html=_html(language, link, paragraph, button))
        for language, (subject, paragraph, button) in texts.items()
    }
    return Template(
        id=PREFIX + name,
        name=_NAMES[name],
        default_language="en",
        contents=contents,
        builtin=True,
        variables=variables,
    )


BUILTINS: dict[str, Template] = {PREFIX + name: _template(name) for name in _TEXTS}


def builtin(template_id: str) -> Template | None:
    return BUILTINS.get(template_id)
