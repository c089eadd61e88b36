"""python src/sftlab/assets/data/make_fixtures.py

Deterministic generator for the small bundled data sets of sftlab.

Writes, next to this file:

* ``sample_es.jsonl`` -- 320 Spanish instruction records (Alpaca schema:
  ``instruction``, ``input``, ``output``) built from small hand-written fact
  tables and templates with a fixed ``random.Random(1234)`` seed.
* ``sri_tax_law_sample.jsonl`` -- 40 hand-written question/answer pairs with
  general guidance about Ecuadorian tax law (SRI), in the same schema with an
  empty ``input``. None of its questions may appear in the law prompt suite
  (``../prompts/law_ec.jsonl``): ``dataset=sri_tax_law`` leak-checks against it.

All content was written for this project; nothing is copied from public
datasets.  The script uses only the standard library and running it twice
produces byte-identical files.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

SEED = 1234
HERE = Path(__file__).resolve().parent
SAMPLE_PATH = HERE / "sample_es.jsonl"
SRI_PATH = HERE / "sri_tax_law_sample.jsonl"

Record = dict[str, str]

# ---------------------------------------------------------------------------
# Fact tables
# ---------------------------------------------------------------------------

CAPITALS: list[tuple[str, str]] = [
    ("Argentina", "Buenos Aires"),
    ("Chile", "Santiago"),
    ("Colombia", "Bogotá"),
    ("Costa Rica", "San José"),
    ("Cuba", "La Habana"),
    ("Ecuador", "Quito"),
    ("El Salvador", "San Salvador"),
    ("Guatemala", "Ciudad de Guatemala"),
    ("Honduras", "Tegucigalpa"),
    ("México", "Ciudad de México"),
    ("Nicaragua", "Managua"),
    ("Panamá", "Ciudad de Panamá"),
    ("Paraguay", "Asunción"),
    ("Perú", "Lima"),
    ("República Dominicana", "Santo Domingo"),
    ("Uruguay", "Montevideo"),
    ("Venezuela", "Caracas"),
    ("España", "Madrid"),
    ("Brasil", "Brasilia"),
    ("Portugal", "Lisboa"),
    ("Francia", "París"),
    ("Italia", "Roma"),
    ("Alemania", "Berlín"),
    ("Japón", "Tokio"),
    ("Canadá", "Ottawa"),
    ("Egipto", "El Cairo"),
    ("Haití", "Puerto Príncipe"),
    ("Jamaica", "Kingston"),
    ("Belice", "Belmopán"),
    ("Grecia", "Atenas"),
    ("Noruega", "Oslo"),
    ("Rusia", "Moscú"),
    ("Irlanda", "Dublín"),
]

VERBS_AR = [
    "hablar",
    "cantar",
    "bailar",
    "caminar",
    "estudiar",
    "trabajar",
    "cocinar",
    "comprar",
    "escuchar",
    "mirar",
    "nadar",
    "viajar",
    "ayudar",
    "limpiar",
    "preparar",
    "lavar",
    "tomar",
    "llamar",
]
VERBS_ER = ["comer", "beber", "aprender", "leer", "correr", "vender", "comprender", "romper"]
VERBS_IR = ["vivir", "escribir", "abrir", "recibir", "subir", "decidir", "compartir", "permitir"]

ENDINGS = {
    "ar": ["o", "as", "a", "amos", "áis", "an"],
    "er": ["o", "es", "e", "emos", "éis", "en"],
    "ir": ["o", "es", "e", "imos", "ís", "en"],
}
PRONOUNS = ["yo", "tú", "él/ella", "nosotros", "vosotros", "ellos/ellas"]
SINGLE_PRONOUNS = [
    (0, "yo"),
    (1, "tú"),
    (2, "él"),
    (2, "ella"),
    (3, "nosotros"),
    (3, "nosotras"),
    (4, "vosotros"),
    (5, "ellos"),
    (5, "ellas"),
]

ANTONYMS: list[tuple[str, str]] = [
    ("alto", "bajo"),
    ("grande", "pequeño"),
    ("rápido", "lento"),
    ("caliente", "frío"),
    ("feliz", "triste"),
    ("fácil", "difícil"),
    ("claro", "oscuro"),
    ("nuevo", "viejo"),
    ("limpio", "sucio"),
    ("abierto", "cerrado"),
    ("lleno", "vacío"),
    ("fuerte", "débil"),
    ("rico", "pobre"),
    ("cerca", "lejos"),
    ("subir", "bajar"),
    ("entrar", "salir"),
    ("ganar", "perder"),
    ("comprar", "vender"),
    ("recordar", "olvidar"),
    ("día", "noche"),
    ("verdad", "mentira"),
    ("mucho", "poco"),
    ("siempre", "nunca"),
    ("antes", "después"),
    ("dulce", "amargo"),
    ("ancho", "estrecho"),
    ("duro", "blando"),
    ("seco", "mojado"),
    ("empezar", "terminar"),
    ("encender", "apagar"),
    ("aceptar", "rechazar"),
    ("alegría", "tristeza"),
    ("pesado", "ligero"),
    ("arriba", "abajo"),
    ("temprano", "tarde"),
]

SYNONYMS: list[tuple[str, str]] = [
    ("bonito", "hermoso"),
    ("rápido", "veloz"),
    ("contento", "alegre"),
    ("empezar", "comenzar"),
    ("terminar", "acabar"),
    ("casa", "hogar"),
    ("inteligente", "listo"),
    ("enorme", "gigantesco"),
    ("hablar", "conversar"),
    ("mirar", "observar"),
    ("caminar", "andar"),
    ("miedo", "temor"),
    ("tranquilo", "sereno"),
    ("rostro", "cara"),
    ("trabajo", "empleo"),
    ("regalo", "obsequio"),
    ("difícil", "complicado"),
    ("fácil", "sencillo"),
    ("cansado", "agotado"),
    ("famoso", "célebre"),
    ("antiguo", "viejo"),
    ("automóvil", "coche"),
    ("delgado", "flaco"),
    ("elegir", "escoger"),
]

TRANSLATIONS: list[tuple[str, str]] = [
    ("Good morning.", "Buenos días."),
    ("Thank you very much.", "Muchas gracias."),
    ("Where is the train station?", "¿Dónde está la estación de tren?"),
    ("I am hungry.", "Tengo hambre."),
    ("What time is it?", "¿Qué hora es?"),
    ("I like to read books.", "Me gusta leer libros."),
    ("The house is big.", "La casa es grande."),
    ("We live in a small town.", "Vivimos en un pueblo pequeño."),
    ("How much does it cost?", "¿Cuánto cuesta?"),
    ("It is raining today.", "Hoy está lloviendo."),
    ("See you tomorrow.", "Hasta mañana."),
    ("I don't understand.", "No entiendo."),
    ("Can you help me, please?", "¿Puedes ayudarme, por favor?"),
    ("The cat is sleeping on the sofa.", "El gato está durmiendo en el sofá."),
    ("I need a glass of water.", "Necesito un vaso de agua."),
    ("Happy birthday!", "¡Feliz cumpleaños!"),
    ("My name is Ana.", "Me llamo Ana."),
    ("The store opens at nine.", "La tienda abre a las nueve."),
    ("We are going to the beach.", "Vamos a la playa."),
    ("I have two brothers.", "Tengo dos hermanos."),
    ("The book is on the table.", "El libro está sobre la mesa."),
    ("Where do you live?", "¿Dónde vives?"),
    ("It is very cold outside.", "Hace mucho frío afuera."),
    ("I am learning Spanish.", "Estoy aprendiendo español."),
    ("Good night.", "Buenas noches."),
    ("The children are playing in the park.", "Los niños están jugando en el parque."),
    ("I would like a coffee, please.", "Quisiera un café, por favor."),
    ("The museum is closed on Mondays.", "El museo está cerrado los lunes."),
    ("Congratulations!", "¡Felicidades!"),
    ("Turn left at the corner.", "Gira a la izquierda en la esquina."),
    ("How are you?", "¿Cómo estás?"),
    ("Nice to meet you.", "Mucho gusto."),
    ("The food is delicious.", "La comida está deliciosa."),
    ("Open the window, please.", "Abre la ventana, por favor."),
    ("My favorite color is blue.", "Mi color favorito es el azul."),
    ("I work from Monday to Friday.", "Trabajo de lunes a viernes."),
    ("The bus is late.", "El autobús llega tarde."),
    ("Where is the bathroom?", "¿Dónde está el baño?"),
]

SENTIMENTS: list[tuple[str, str]] = [
    ("Me encantó la película; la volvería a ver mañana mismo.", "positivo"),
    ("El servicio del restaurante fue rápido y muy amable.", "positivo"),
    ("Estoy feliz porque aprobé el examen de matemáticas.", "positivo"),
    ("Este libro es entretenido de principio a fin.", "positivo"),
    ("El hotel estaba limpio y el personal fue muy atento.", "positivo"),
    ("¡Qué día tan bonito para pasear por el parque!", "positivo"),
    ("La nueva versión de la aplicación funciona de maravilla.", "positivo"),
    ("Mis vecinos me ayudaron con la mudanza y les estoy muy agradecido.", "positivo"),
    ("El concierto superó todas mis expectativas.", "positivo"),
    ("La comida llegó caliente y deliciosa.", "positivo"),
    ("Recomiendo este curso a cualquiera que quiera aprender a programar.", "positivo"),
    ("Me siento orgulloso del trabajo de mi equipo.", "positivo"),
    ("El pedido llegó tarde y con la caja rota.", "negativo"),
    ("La película fue aburrida y demasiado larga.", "negativo"),
    ("Estoy muy decepcionado con el servicio al cliente.", "negativo"),
    ("El teléfono se calienta mucho y la batería dura poco.", "negativo"),
    ("Esperé dos horas y nadie me atendió.", "negativo"),
    ("La habitación estaba sucia y olía a humedad.", "negativo"),
    ("No me gustó nada la comida; estaba fría y sin sabor.", "negativo"),
    ("El tráfico de hoy me puso de muy mal humor.", "negativo"),
    ("El producto dejó de funcionar a la semana de comprarlo.", "negativo"),
    ("Me siento frustrado porque perdí el autobús otra vez.", "negativo"),
    ("La música estaba tan alta que no pudimos conversar.", "negativo"),
    ("El precio es excesivo para la calidad que ofrece.", "negativo"),
    ("La reunión empieza a las diez de la mañana.", "neutral"),
    ("El tren sale del andén número tres.", "neutral"),
    ("La tienda abre de lunes a sábado.", "neutral"),
    ("El libro tiene doscientas páginas.", "neutral"),
    ("Mañana se publicarán los resultados de la votación.", "neutral"),
    ("El museo está en el centro de la ciudad.", "neutral"),
    ("Compré arroz, leche y huevos en el mercado.", "neutral"),
    ("La clase de inglés dura una hora.", "neutral"),
    ("El paquete pesa dos kilos.", "neutral"),
    ("El edificio tiene cinco pisos.", "neutral"),
    ("La temperatura actual es de dieciocho grados.", "neutral"),
]

REWRITES: list[tuple[str, str, str]] = [
    (
        "Escribe la siguiente oración en plural.",
        "El perro ladra en el jardín.",
        "Los perros ladran en el jardín.",
    ),
    ("Escribe la siguiente oración en plural.", "La niña lee un libro.", "Las niñas leen libros."),
    ("Escribe la siguiente oración en plural.", "El árbol es muy alto.", "Los árboles son muy altos."),
    (
        "Escribe la siguiente oración en plural.",
        "Mi amigo vive en la ciudad.",
        "Mis amigos viven en la ciudad.",
    ),
    ("Escribe la siguiente oración en plural.", "La flor es roja.", "Las flores son rojas."),
    (
        "Escribe la siguiente oración en plural.",
        "El estudiante escribe una carta.",
        "Los estudiantes escriben cartas.",
    ),
    (
        "Reescribe la oración con un tono más formal.",
        "Oye, pásame el informe cuando puedas.",
        "Por favor, envíeme el informe cuando le sea posible.",
    ),
    (
        "Reescribe la oración con un tono más formal.",
        "No puedo ir a la reunión, lo siento.",
        "Lamento informarle que no podré asistir a la reunión.",
    ),
    (
        "Reescribe la oración con un tono más formal.",
        "Mándame tus datos para apuntarte.",
        "Le agradecería que me enviara sus datos para completar su inscripción.",
    ),
    (
        "Reescribe la oración con un tono más formal.",
        "¿Me dices a qué hora abren?",
        "¿Podría indicarme el horario de atención, por favor?",
    ),
    (
        "Reescribe la oración con un tono más formal.",
        "Gracias por echarme una mano con la mudanza.",
        "Le agradezco sinceramente su ayuda con la mudanza.",
    ),
    (
        "Resume la siguiente oración en pocas palabras.",
        "Debido a la fuerte lluvia que cayó durante toda la mañana, el partido de fútbol que estaba programado para las diez fue suspendido.",
        "El partido se suspendió por la lluvia.",
    ),
    (
        "Resume la siguiente oración en pocas palabras.",
        "La biblioteca municipal ha decidido ampliar su horario y ahora permanecerá abierta hasta las nueve de la noche de lunes a viernes.",
        "La biblioteca abrirá entre semana hasta las nueve de la noche.",
    ),
    (
        "Resume la siguiente oración en pocas palabras.",
        "Después de varios meses de trabajo, los vecinos del barrio lograron convertir un terreno abandonado en un huerto comunitario.",
        "Los vecinos convirtieron un terreno abandonado en un huerto.",
    ),
    (
        "Resume la siguiente oración en pocas palabras.",
        "El médico me recomendó beber más agua, dormir al menos ocho horas y caminar treinta minutos cada día.",
        "El médico me recomendó hidratarme, dormir bien y caminar a diario.",
    ),
    (
        "Resume la siguiente oración en pocas palabras.",
        "La empresa anunció que, a partir del próximo mes, sus empleados podrán trabajar desde casa dos días a la semana.",
        "Desde el próximo mes, los empleados podrán teletrabajar dos días por semana.",
    ),
    ("Cambia la oración al pasado.", "Hoy como con mis abuelos.", "Ayer comí con mis abuelos."),
    ("Cambia la oración al pasado.", "Hoy estudio para el examen.", "Ayer estudié para el examen."),
    (
        "Cambia la oración al pasado.",
        "Hoy escribo una carta a mi prima.",
        "Ayer escribí una carta a mi prima.",
    ),
    (
        "Cambia la oración al pasado.",
        "Hoy compramos fruta en el mercado.",
        "Ayer compramos fruta en el mercado.",
    ),
    ("Cambia la oración al pasado.", "Hoy Luis corre en el parque.", "Ayer Luis corrió en el parque."),
    (
        "Corrige la ortografía de la siguiente oración.",
        "Mañana bamos a la playa con mi hermano.",
        "Mañana vamos a la playa con mi hermano.",
    ),
    (
        "Corrige la ortografía de la siguiente oración.",
        "Ayer ise la tarea muy rapido.",
        "Ayer hice la tarea muy rápido.",
    ),
    (
        "Corrige la ortografía de la siguiente oración.",
        "La profesora nos dio un exsamen difisil.",
        "La profesora nos dio un examen difícil.",
    ),
    (
        "Corrige la ortografía de la siguiente oración.",
        "Espero que tengas un buen biaje.",
        "Espero que tengas un buen viaje.",
    ),
    (
        "Corrige la ortografía de la siguiente oración.",
        "Mi abuela cosina muy bien.",
        "Mi abuela cocina muy bien.",
    ),
]

DEFINITIONS: list[tuple[str, str, str]] = [
    ("un", "paraguas", "un objeto plegable que sirve para protegerse de la lluvia"),
    ("una", "silla", "un mueble con respaldo que sirve para sentarse"),
    (
        "una",
        "mesa",
        "un mueble formado por una superficie plana sobre patas, que se usa para comer, trabajar o apoyar cosas",
    ),
    ("un", "reloj", "un instrumento que sirve para medir y mostrar la hora"),
    (
        "una",
        "cuchara",
        "un utensilio con una parte cóncava y un mango que se usa para comer alimentos líquidos o blandos",
    ),
    ("una", "llave", "un objeto de metal que sirve para abrir y cerrar cerraduras"),
    ("una", "ventana", "una abertura en una pared, normalmente con vidrio, que deja pasar la luz y el aire"),
    (
        "un",
        "lápiz",
        "un instrumento para escribir o dibujar que tiene una barra de grafito dentro de una funda de madera",
    ),
    ("una", "almohada", "un cojín blando en el que se apoya la cabeza para dormir"),
    ("un", "espejo", "una superficie de vidrio pulido que refleja las imágenes"),
    ("una", "bicicleta", "un vehículo de dos ruedas que se mueve al pedalear"),
    ("una", "mochila", "una bolsa con dos correas que se lleva a la espalda"),
    ("una", "biblioteca", "un lugar donde se guardan libros para leerlos o pedirlos prestados"),
    ("una", "panadería", "una tienda donde se hace y se vende pan"),
    ("un", "mercado", "un lugar donde se compran y venden alimentos y otros productos"),
    ("un", "hospital", "un edificio donde se atiende y se cura a las personas enfermas o heridas"),
    ("un", "calendario", "un sistema que organiza los días, las semanas y los meses del año"),
    ("una", "escoba", "un utensilio con un palo largo y cerdas que sirve para barrer el suelo"),
    ("un", "refrigerador", "un electrodoméstico que mantiene fríos y frescos los alimentos"),
    (
        "un",
        "sombrero",
        "una prenda que se pone en la cabeza para protegerse del sol o del frío, o como adorno",
    ),
    ("una", "lámpara", "un aparato que sirve para dar luz"),
    ("un", "diccionario", "un libro que reúne palabras ordenadas alfabéticamente y explica su significado"),
    ("una", "escuela", "un lugar donde los niños y jóvenes reciben educación"),
    ("un", "puente", "una construcción que permite cruzar un río, un camino u otro obstáculo"),
    ("una", "nube", "una masa de pequeñas gotas de agua o cristales de hielo suspendida en el cielo"),
    ("un", "mapa", "una representación de un territorio sobre una superficie plana"),
    ("una", "cartera", "un objeto pequeño en el que se guardan el dinero y los documentos"),
    ("un", "termómetro", "un instrumento que sirve para medir la temperatura"),
    ("un", "buzón", "un recipiente con una abertura donde se depositan las cartas"),
    ("una", "tetera", "un recipiente con asa y pico que se usa para preparar y servir té"),
    ("un", "semáforo", "un aparato con luces de colores que regula el paso de vehículos y peatones"),
]

PLANETS = ["Mercurio", "Venus", "la Tierra", "Marte", "Júpiter", "Saturno", "Urano", "Neptuno"]
ORDINALS = ["primer", "segundo", "tercer", "cuarto", "quinto", "sexto", "séptimo", "octavo"]

FLAGS: list[tuple[str, str]] = [
    ("Colombia", "amarillo, azul y rojo"),
    ("Ecuador", "amarillo, azul y rojo"),
    ("Venezuela", "amarillo, azul y rojo"),
    ("México", "verde, blanco y rojo"),
    ("Argentina", "celeste y blanco"),
    ("Perú", "rojo y blanco"),
    ("Chile", "blanco, azul y rojo"),
    ("España", "rojo y amarillo"),
    ("Bolivia", "rojo, amarillo y verde"),
    ("Paraguay", "rojo, blanco y azul"),
    ("Uruguay", "blanco y azul"),
    ("Cuba", "azul, blanco y rojo"),
    ("Panamá", "blanco, rojo y azul"),
    ("Costa Rica", "azul, blanco y rojo"),
    ("Guatemala", "celeste y blanco"),
    ("Honduras", "azul y blanco"),
    ("El Salvador", "azul y blanco"),
    ("Nicaragua", "azul y blanco"),
]

CONTINENTS: list[tuple[str, str]] = [
    ("Kenia", "África"),
    ("Egipto", "África"),
    ("Marruecos", "África"),
    ("Nigeria", "África"),
    ("Japón", "Asia"),
    ("India", "Asia"),
    ("China", "Asia"),
    ("Tailandia", "Asia"),
    ("Francia", "Europa"),
    ("Italia", "Europa"),
    ("Noruega", "Europa"),
    ("Polonia", "Europa"),
    ("Australia", "Oceanía"),
    ("Nueva Zelanda", "Oceanía"),
    ("Canadá", "América del Norte"),
    ("Chile", "América del Sur"),
    ("Perú", "América del Sur"),
    ("Brasil", "América del Sur"),
]

DAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
MONTHS = [
    ("enero", 31),
    ("febrero", 28),
    ("marzo", 31),
    ("abril", 30),
    ("mayo", 31),
    ("junio", 30),
    ("julio", 31),
    ("agosto", 31),
    ("septiembre", 30),
    ("octubre", 31),
    ("noviembre", 30),
    ("diciembre", 31),
]

MISC_FACTS: list[tuple[str, str]] = [
    ("¿Cuántos planetas tiene el sistema solar?", "El sistema solar tiene ocho planetas."),
    (
        "¿Cuál es el planeta más grande del sistema solar?",
        "El planeta más grande del sistema solar es Júpiter.",
    ),
    ("¿Cuál es el planeta más cercano al Sol?", "El planeta más cercano al Sol es Mercurio."),
    ("¿Qué planeta es conocido como el planeta rojo?", "Marte es conocido como el planeta rojo."),
    ("¿Qué planeta es famoso por sus anillos?", "Saturno es famoso por sus grandes anillos."),
    ("¿Cuál es la estrella más cercana a la Tierra?", "La estrella más cercana a la Tierra es el Sol."),
    ("¿Cuál es el satélite natural de la Tierra?", "El satélite natural de la Tierra es la Luna."),
    ("¿Cuál es el océano más grande del mundo?", "El océano más grande del mundo es el océano Pacífico."),
    ("¿Cuántos días tiene una semana?", "Una semana tiene siete días."),
    ("¿Cuántos meses tiene un año?", "Un año tiene doce meses."),
    ("¿Cuántos días tiene un año bisiesto?", "Un año bisiesto tiene 366 días."),
    ("¿Cuántas horas tiene un día?", "Un día tiene 24 horas."),
    ("¿Cuántos minutos tiene una hora?", "Una hora tiene 60 minutos."),
    (
        "¿A qué temperatura hierve el agua al nivel del mar?",
        "Al nivel del mar, el agua hierve a 100 grados Celsius.",
    ),
    ("¿A qué temperatura se congela el agua?", "El agua se congela a 0 grados Celsius."),
    ("¿Cuántas patas tiene una araña?", "Una araña tiene ocho patas."),
    ("¿Cuántas patas tiene un insecto?", "Un insecto tiene seis patas."),
    (
        "¿Qué gas absorben las plantas para hacer la fotosíntesis?",
        "Las plantas absorben dióxido de carbono para hacer la fotosíntesis.",
    ),
    ("¿Qué idioma se habla en Brasil?", "En Brasil se habla portugués."),
    (
        "¿Cuál es el primer día de la semana en el calendario escolar?",
        "En el calendario escolar, la semana empieza el lunes.",
    ),
    (
        "¿Cuáles son los colores primarios?",
        "Los colores primarios tradicionales son el rojo, el amarillo y el azul.",
    ),
]

POEMS: list[tuple[str, str]] = [
    ("el mar", "El mar dibuja olas de cristal\ny guarda en su voz un canto de sal."),
    ("la luna", "La luna se asoma, callada y serena,\ny viste de plata la noche morena."),
    ("la lluvia", "La lluvia golpea, suave, el cristal,\ny el mundo despierta limpio y natural."),
    ("el café", "Un café caliente al empezar el día\nconvierte la prisa en calma y alegría."),
    ("la amistad", "Un amigo sincero es luz en el camino,\nun abrazo que cambia el rumbo del destino."),
    ("el otoño", "El otoño pinta de oro cada rama,\ny el viento en las hojas su canción derrama."),
    ("la montaña", "La montaña se alza, firme y callada,\ntocando las nubes en la madrugada."),
    ("el sol", "El sol se levanta con paso dorado\ny llena de vida el campo sembrado."),
    ("los libros", "Un libro abierto es una ventana\npor donde entra el mundo cada mañana."),
    ("la ciudad", "La ciudad despierta entre ruido y prisa,\ny en cada esquina se esconde una sonrisa."),
]

SLOGANS: list[tuple[str, str]] = [
    ("una panadería de barrio", "Pan recién horneado, sabor de hogar en cada bocado."),
    ("una marca de agua embotellada", "Pura como la montaña, fresca como tu día."),
    ("una tienda de bicicletas", "Pedalea tu ciudad: muévete libre, vive mejor."),
    ("una biblioteca pública", "Abre un libro, abre el mundo."),
    ("una campaña de reciclaje", "Separa, recicla y cuida el planeta que compartimos."),
    ("una cafetería", "Cada taza, un buen comienzo."),
    ("una academia de idiomas", "Aprende un idioma, descubre un mundo nuevo."),
    ("una frutería", "Del campo a tu mesa, fresco y natural."),
    ("un gimnasio", "Tu fuerza empieza hoy."),
    ("una heladería", "Un helado, mil sonrisas."),
]

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_UNITS = [
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciséis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
    "veintiuno",
    "veintidós",
    "veintitrés",
    "veinticuatro",
    "veinticinco",
    "veintiséis",
    "veintisiete",
    "veintiocho",
    "veintinueve",
]
_TENS = {3: "treinta", 4: "cuarenta", 5: "cincuenta", 6: "sesenta", 7: "setenta", 8: "ochenta", 9: "noventa"}
_HUNDREDS = {
    1: "ciento",
    2: "doscientos",
    3: "trescientos",
    4: "cuatrocientos",
    5: "quinientos",
    6: "seiscientos",
    7: "setecientos",
    8: "ochocientos",
    9: "novecientos",
}


def number_to_words(n: int) -> str:
    """Return the Spanish words for an integer 0 <= n <= 999."""
    if not 0 <= n <= 999:
        raise ValueError(f"out of range: {n}")
    if n < 30:
        return _UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return _TENS[tens] if unit == 0 else f"{_TENS[tens]} y {_UNITS[unit]}"
    if n == 100:
        return "cien"
    hundreds, rest = divmod(n, 100)
    head = _HUNDREDS[hundreds]
    return head if rest == 0 else f"{head} {number_to_words(rest)}"


def rec(instruction: str, output: str, input_: str = "") -> Record:
    """Build one Alpaca-style record with keys in a fixed order."""
    return {"instruction": instruction, "input": input_, "output": output}


def conjugate(verb: str) -> list[str]:
    """Return the six present-indicative forms of a regular -ar/-er/-ir verb."""
    stem, ending = verb[:-2], verb[-2:]
    return [stem + e for e in ENDINGS[ending]]


def fill(rng: random.Random, n: int, make: Callable[[random.Random], Record], seen: set) -> list[Record]:
    """Call ``make`` until ``n`` records new to ``seen`` have been collected."""
    out: list[Record] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 100_000:
            raise RuntimeError(f"could not build {n} unique records with {make.__name__}")
        r = make(rng)
        key = (r["instruction"], r["input"])
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


# ---------------------------------------------------------------------------
# Record makers (one per task category)
# ---------------------------------------------------------------------------


def make_capital(rng: random.Random) -> Record:
    """Ask for the capital of a country."""
    country, capital = rng.choice(CAPITALS)
    out = f"La capital de {country} es {capital}."
    if rng.random() < 0.25:
        instr = rng.choice(
            [
                "Indica la capital del país de la entrada.",
                "¿Cuál es la capital del siguiente país?",
            ]
        )
        return rec(instr, out, country)
    instr = rng.choice(
        [
            "¿Cuál es la capital de {p}?",
            "Dime la capital de {p}.",
            "¿Qué ciudad es la capital de {p}?",
            "Escribe el nombre de la capital de {p}.",
        ]
    ).format(p=country)
    return rec(instr, out)


def make_arithmetic(rng: random.Random) -> Record:
    """Simple arithmetic with the result also written out in words."""
    op = rng.choice(["+", "-", "×", "÷"])
    if op == "+":
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        r, word = a + b, "más"
    elif op == "-":
        a = rng.randint(10, 99)
        b = rng.randint(1, a - 1)
        r, word = a - b, "menos"
    elif op == "×":
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        r, word = a * b, "por"
    else:
        b, r = rng.randint(2, 12), rng.randint(2, 12)
        a, word = b * r, "entre"
    out = f"{a} {op} {b} = {r}. El resultado es {r} ({number_to_words(r)})."
    if rng.random() < 1 / 3:
        instr = rng.choice(["Resuelve la siguiente operación.", "Calcula el resultado de la operación."])
        return rec(instr, out, f"{a} {op} {b}")
    instr = rng.choice(
        [
            "¿Cuánto es {a} {w} {b}?",
            "Calcula {a} {w} {b}.",
            "¿Cuál es el resultado de {a} {w} {b}?",
        ]
    ).format(a=a, w=word, b=b)
    return rec(instr, out)


def make_conjugation(rng: random.Random) -> Record:
    """Present-indicative conjugation of a regular verb (full table or one form)."""
    verb = rng.choice(VERBS_AR + VERBS_ER + VERBS_IR)
    forms = conjugate(verb)
    if rng.random() < 0.5:
        table = ", ".join(f"{p} {f}" for p, f in zip(PRONOUNS, forms, strict=True))
        out = f"El presente de indicativo de «{verb}» es: {table}."
        if rng.random() < 0.4:
            return rec("Conjuga en presente de indicativo el verbo de la entrada.", out, verb)
        instr = rng.choice(
            [
                "Conjuga el verbo «{v}» en presente de indicativo.",
                "Escribe la conjugación del verbo «{v}» en presente.",
            ]
        ).format(v=verb)
        return rec(instr, out)
    idx, pron = rng.choice(SINGLE_PRONOUNS)
    instr = rng.choice(
        [
            "¿Cómo se conjuga «{v}» con «{p}» en presente de indicativo?",
            "Escribe la forma del verbo «{v}» para «{p}» en presente.",
        ]
    ).format(v=verb, p=pron)
    return rec(instr, f"En presente de indicativo se dice «{pron} {forms[idx]}».")


def make_antonym(rng: random.Random) -> Record:
    """Ask for the antonym of a word."""
    a, b = rng.choice(ANTONYMS)
    if rng.random() < 0.5:
        a, b = b, a
    out = f"El antónimo de «{a}» es «{b}»."
    if rng.random() < 1 / 3:
        return rec("Escribe el antónimo de la palabra de la entrada.", out, a)
    instr = rng.choice(
        [
            "¿Cuál es el antónimo de «{w}»?",
            "Dime lo contrario de «{w}».",
            "Escribe una palabra que signifique lo contrario de «{w}».",
        ]
    ).format(w=a)
    return rec(instr, out)


def make_synonym(rng: random.Random) -> Record:
    """Ask for a synonym of a word."""
    a, b = rng.choice(SYNONYMS)
    if rng.random() < 0.5:
        a, b = b, a
    out = f"Un sinónimo de «{a}» es «{b}»."
    if rng.random() < 1 / 3:
        return rec("Escribe un sinónimo de la palabra de la entrada.", out, a)
    instr = rng.choice(
        [
            "Dame un sinónimo de «{w}».",
            "¿Qué palabra significa lo mismo que «{w}»?",
        ]
    ).format(w=a)
    return rec(instr, out)


def make_translation(rng: random.Random) -> Record:
    """Translate a short English phrase (given as input) into Spanish."""
    en, es = rng.choice(TRANSLATIONS)
    instr = rng.choice(
        [
            "Traduce al español la siguiente frase.",
            "Traduce esta frase del inglés al español.",
            "¿Cómo se dice esto en español?",
        ]
    )
    return rec(instr, es, en)


def make_sentiment(rng: random.Random) -> Record:
    """Classify the sentiment of a sentence (given as input)."""
    sentence, label = rng.choice(SENTIMENTS)
    instr = rng.choice(
        [
            "Clasifica el sentimiento de la siguiente oración como positivo, negativo o neutral.",
            "Indica si el sentimiento de este texto es positivo, negativo o neutral.",
            "Analiza el sentimiento de la siguiente frase.",
        ]
    )
    return rec(instr, f"El sentimiento del texto es {label}.", sentence)


def make_rewrite(rng: random.Random) -> Record:
    """Rewrite, summarise or correct a short sentence (given as input)."""
    instr, src, out = rng.choice(REWRITES)
    return rec(instr, out, src)


def make_definition(rng: random.Random) -> Record:
    """Short definition of an everyday word."""
    art, word, definition = rng.choice(DEFINITIONS)
    out = f"{art.capitalize()} {word} es {definition}."
    if rng.random() < 0.2:
        return rec("Da una definición breve de la palabra de la entrada.", out, word)
    instr = rng.choice(
        [
            "¿Qué es {a} {w}?",
            "Define la palabra «{w}».",
            "Explica en una frase qué es {a} {w}.",
        ]
    ).format(a=art, w=word)
    return rec(instr, out)


def general_knowledge_pool() -> list[Record]:
    """Build the full pool of general-knowledge question/answer records."""
    pool: list[Record] = []
    for i, planet in enumerate(PLANETS):
        name = planet[0].upper() + planet[1:]
        pool.append(
            rec(
                f"¿Cuál es el {ORDINALS[i]} planeta del sistema solar, contando desde el Sol?",
                f"El {ORDINALS[i]} planeta del sistema solar, contando desde el Sol, es {planet}.",
            )
        )
        pool.append(
            rec(
                f"¿Qué posición ocupa {planet} en el sistema solar, contando desde el Sol?",
                f"{name} es el {ORDINALS[i]} planeta del sistema solar, contando desde el Sol.",
            )
        )
    for country, colours in FLAGS:
        pool.append(
            rec(
                f"¿De qué colores es la bandera de {country}?",
                f"Los colores principales de la bandera de {country} son {colours}.",
            )
        )
    for country, continent in CONTINENTS:
        pool.append(rec(f"¿En qué continente está {country}?", f"{country} está en {continent}."))
    for i, day in enumerate(DAYS):
        nxt, prev = DAYS[(i + 1) % 7], DAYS[(i - 1) % 7]
        pool.append(rec(f"¿Qué día viene después del {day}?", f"Después del {day} viene el {nxt}."))
        pool.append(rec(f"¿Qué día va antes del {day}?", f"Antes del {day} va el {prev}."))
    for i, (month, days) in enumerate(MONTHS):
        nxt = MONTHS[(i + 1) % 12][0]
        pool.append(rec(f"¿Qué mes viene después de {month}?", f"Después de {month} viene {nxt}."))
        if month == "febrero":
            ans = "Febrero tiene 28 días, o 29 en los años bisiestos."
        else:
            ans = f"{month.capitalize()} tiene {days} días."
        pool.append(rec(f"¿Cuántos días tiene el mes de {month}?", ans))
    for q, a in MISC_FACTS:
        pool.append(rec(q, a))
    return pool


def creative_pool() -> list[Record]:
    """Build the pool of short creative records (two-line poems and slogans)."""
    pool: list[Record] = []
    for topic, poem in POEMS:
        pool.append(rec(f"Escribe un poema de dos versos sobre {topic}.", poem))
    for target, slogan in SLOGANS:
        pool.append(rec(f"Crea un eslogan para {target}.", f"Un posible eslogan es: «{slogan}»"))
    return pool


def sample_pool(rng: random.Random, pool: list[Record], n: int, seen: set) -> list[Record]:
    """Draw ``n`` records without replacement from a fixed pool, skipping ones in ``seen``."""
    candidates = [r for r in pool if (r["instruction"], r["input"]) not in seen]
    if len(candidates) < n:
        raise RuntimeError(f"pool too small: {len(candidates)} < {n}")
    picked = rng.sample(candidates, n)
    seen.update((r["instruction"], r["input"]) for r in picked)
    return picked


# Quotas per category; they sum to 320.
QUOTAS: list[tuple[str, int]] = [
    ("capitales", 36),
    ("aritmética", 40),
    ("conjugación", 32),
    ("antónimos", 22),
    ("sinónimos", 16),
    ("traducción", 32),
    ("sentimiento", 30),
    ("reescritura", 24),
    ("definiciones", 26),
    ("cultura general", 44),
    ("creativos", 18),
]

MAKERS: dict[str, Callable[[random.Random], Record]] = {
    "capitales": make_capital,
    "aritmética": make_arithmetic,
    "conjugación": make_conjugation,
    "antónimos": make_antonym,
    "sinónimos": make_synonym,
    "traducción": make_translation,
    "sentimiento": make_sentiment,
    "reescritura": make_rewrite,
    "definiciones": make_definition,
}

POOLS: dict[str, Callable[[], list[Record]]] = {
    "cultura general": general_knowledge_pool,
    "creativos": creative_pool,
}


def build_sample_es() -> list[Record]:
    """Build the 320 Spanish instruction records in a deterministic shuffled order."""
    rng = random.Random(SEED)
    seen: set = set()
    records: list[Record] = []
    for name, n in QUOTAS:
        if name in MAKERS:
            records.extend(fill(rng, n, MAKERS[name], seen))
        else:
            records.extend(sample_pool(rng, POOLS[name](), n, seen))
    rng.shuffle(records)
    return records


# ---------------------------------------------------------------------------
# Ecuadorian tax-law Q&A (SRI)
# ---------------------------------------------------------------------------

SRI_QA: list[tuple[str, str]] = [
    (
        "¿Cómo obtengo el RUC por primera vez como persona natural?",
        "Puede inscribirse en el RUC a través de los servicios en línea del SRI o acudiendo a una de sus agencias con su cédula de identidad. Debe indicar la actividad económica que va a realizar y la dirección donde la desarrollará. Para las personas naturales, el número de RUC suele ser el número de cédula seguido de 001.",
    ),
    (
        "¿Estoy obligado a sacar el RUC si solo trabajo en relación de dependencia?",
        "En general, no. Si sus únicos ingresos provienen de un empleo en relación de dependencia, no necesita RUC, porque su empleador le retiene el impuesto a la renta y lo declara. Sí deberá obtenerlo si empieza otra actividad económica, como vender productos o prestar servicios profesionales por su cuenta.",
    ),
    (
        "Si vendo un producto a 100 dólares, ¿cuánto IVA debo cobrar?",
        "Con la tarifa general, 15 dólares: la tarifa general del IVA es del 15 % desde abril de 2024; antes era del 12 %. Algunos bienes y servicios, como ciertos alimentos de primera necesidad, las medicinas o los servicios de salud, tienen tarifa 0 %. Como las tarifas pueden cambiar, conviene confirmar siempre la vigente en la página del SRI.",
    ),
    (
        "¿Hasta cuándo tengo que declarar el impuesto a la renta como persona natural?",
        "Las personas naturales presentan la declaración anual del impuesto a la renta en marzo del año siguiente. El día límite depende del noveno dígito del RUC o de la cédula, según el calendario del SRI. Presentarla a tiempo evita multas e intereses.",
    ),
    (
        "El noveno dígito de mi RUC es 5. ¿Qué cambia eso para mí?",
        "El noveno dígito del RUC o de la cédula determina la fecha máxima en la que usted debe presentar sus declaraciones y pagar sus impuestos. Cada dígito tiene asignado un día del mes en el calendario tributario del SRI. Así se evita que todos los contribuyentes declaren el mismo día.",
    ),
    (
        "¿Cuándo debo presentar la declaración mensual del IVA?",
        "La declaración mensual del IVA se presenta en el mes siguiente al período que se declara. La fecha máxima va del día 10 al 28, según el noveno dígito de su RUC, de acuerdo con el calendario del SRI. Si la fecha cae en fin de semana o feriado, normalmente se traslada al siguiente día hábil.",
    ),
    (
        "Tengo una tienda de barrio pequeña. ¿En qué régimen tributario podría estar?",
        "Probablemente en el RIMPE, el Régimen Simplificado para Emprendedores y Negocios Populares. Está pensado para personas y pequeños negocios con ingresos anuales bajos, y simplifica el cumplimiento de sus obligaciones tributarias. Tiene dos categorías, emprendedores y negocios populares, que se asignan según el nivel de ingresos.",
    ),
    (
        "¿Cómo sé si estoy en el RIMPE como emprendedor o como negocio popular?",
        "Puede consultarlo en la información de su RUC a través de SRI en línea, donde aparecen el régimen y la categoría asignados. El SRI también publica el catastro de contribuyentes del RIMPE. La categoría depende principalmente del monto de sus ingresos anuales.",
    ),
    (
        "Soy negocio popular del RIMPE. ¿Qué comprobante debo entregar a mis clientes?",
        "Los negocios populares del RIMPE emiten notas de venta en lugar de facturas. En cambio, los contribuyentes de la categoría emprendedores deben emitir facturas. Revise en su RUC la categoría que le corresponde para entregar el comprobante correcto.",
    ),
    (
        "¿Es obligatoria la facturación electrónica?",
        "Para la mayoría de contribuyentes, sí: el SRI ha extendido progresivamente la obligación de emitir comprobantes electrónicos. Existen algunas excepciones, como ciertos negocios populares que pueden seguir emitiendo notas de venta. Si tiene dudas sobre su caso, revise sus obligaciones en SRI en línea.",
    ),
    (
        "¿Qué necesito para emitir facturas electrónicas?",
        "Necesita un RUC activo, la clave de SRI en línea y una firma electrónica vigente emitida por una entidad de certificación autorizada. Luego puede usar el sistema gratuito de facturación del SRI o un programa propio o comercial. Cada factura se envía al SRI para su autorización y se entrega al cliente en formato electrónico.",
    ),
    (
        "¿Cómo anulo una factura electrónica que emití por error?",
        "La anulación se solicita en SRI en línea y, por lo general, requiere que el cliente que recibió la factura acepte la anulación dentro del plazo que permite el sistema. Si la anulación no es posible, lo habitual es emitir una nota de crédito para corregir el valor. Recuerde reflejar el cambio en sus registros y declaraciones.",
    ),
    (
        "Un cliente me pagó menos que el total de mi factura y dice que es una retención. ¿Por qué?",
        "Porque ese cliente es agente de retención: la retención en la fuente es un valor que el comprador descuenta del pago a su proveedor y entrega directamente al SRI a cuenta de los impuestos de ese proveedor. Puede aplicarse sobre el impuesto a la renta y sobre el IVA. El proveedor puede usar esas retenciones como crédito tributario en sus propias declaraciones.",
    ),
    (
        "Me hicieron una retención y no me entregaron el comprobante. ¿Qué hago?",
        "El agente de retención está obligado a emitir el comprobante de retención dentro del plazo que fija la normativa, contado desde que recibe su factura. Puede pedírselo directamente y verificar en SRI en línea si el comprobante electrónico fue emitido. Si no lo emite, puede presentar una denuncia ante el SRI.",
    ),
    (
        "Me equivoqué en una declaración que ya envié. ¿Puedo corregirla?",
        "Sí, puede presentar una declaración sustitutiva en SRI en línea, que reemplaza por completo a la original. Si la corrección aumenta el impuesto a pagar, deberá cancelar la diferencia con los intereses y multas que correspondan. Si la corrección reduce el impuesto o genera un saldo a su favor, pueden aplicarse condiciones adicionales, por lo que conviene revisarlas con el SRI.",
    ),
    (
        "¿Qué pasa si presento mi declaración fuera de plazo?",
        "Al declarar tarde se genera una multa por presentación tardía y, si hay impuesto a pagar, también intereses por mora desde la fecha de vencimiento. El sistema del SRI normalmente calcula estos valores al momento de presentar la declaración. Mientras antes se ponga al día, menores serán los recargos.",
    ),
    (
        "¿Cómo se calculan los intereses por mora tributaria?",
        "Los intereses por mora se calculan sobre el impuesto que no se pagó a tiempo, desde la fecha de vencimiento hasta el día del pago. La tasa se fija periódicamente con base en la información del Banco Central del Ecuador. El formulario de declaración en línea suele calcular el valor de forma automática.",
    ),
    (
        "No tuve ventas este mes. ¿Tengo que declarar igual?",
        "Sí. Si está obligado a presentar una declaración, debe hacerlo aunque no haya tenido movimientos, presentándola en cero. No declarar puede generar multas y hacer que figure como omiso ante el SRI.",
    ),
    (
        "Soy adulto mayor. ¿Puedo pedir la devolución del IVA?",
        "Sí. Las personas adultas mayores pueden solicitar la devolución del IVA pagado en bienes y servicios de primera necesidad para su uso y consumo personal, con un límite mensual fijado según la normativa. Las facturas deben estar emitidas a su nombre y con su número de cédula. La solicitud puede presentarse en línea o en las agencias del SRI.",
    ),
    (
        "Tengo una discapacidad. ¿Qué beneficio de IVA puedo solicitar?",
        "Las personas con discapacidad pueden solicitar la devolución del IVA pagado en bienes y servicios de primera necesidad para su uso personal, dentro de un monto máximo mensual. El beneficio puede variar según el grado de discapacidad registrado. Las facturas deben estar a su nombre y la solicitud puede hacerse por SRI en línea.",
    ),
    (
        "¿Qué gastos personales puedo usar para reducir mi impuesto a la renta?",
        "Se consideran gastos personales los de vivienda, alimentación, educación (incluidos arte y cultura), salud, vestimenta y turismo, siempre que estén respaldados con comprobantes a su nombre o de sus cargas familiares. Con las reformas recientes, estos gastos permiten una rebaja del impuesto que se calcula como un porcentaje de los gastos, con un límite relacionado con el valor de la canasta familiar básica. Conviene revisar cada año los límites que publica el SRI.",
    ),
    (
        "¿Qué es el formulario de proyección de gastos personales?",
        "Es el documento que el trabajador en relación de dependencia entrega a su empleador al inicio del año con una estimación de sus gastos personales. Con esa información, el empleador calcula la retención mensual del impuesto a la renta. Si sus gastos cambian durante el año, puede actualizar la proyección.",
    ),
    (
        "Trabajo solo para un empleador. ¿Tengo que hacer la declaración del impuesto a la renta?",
        "Si todos sus ingresos provienen de un único empleador, en general no está obligado a declarar, porque el comprobante de retenciones que le entrega su empleador cumple esa función. Sin embargo, si tuvo otros ingresos o trabajó para varios empleadores a la vez, es probable que deba presentar la declaración. Revise su caso en SRI en línea.",
    ),
    (
        "¿El décimo tercero y el décimo cuarto sueldo pagan impuesto a la renta?",
        "No. La decimotercera y la decimocuarta remuneraciones son ingresos exentos del impuesto a la renta, por lo que no forman parte de la base sobre la que se calcula el impuesto. Aun así, pueden aparecer informadas en el comprobante de retenciones de su empleador.",
    ),
    (
        "Me retuvieron más impuesto a la renta del que debía pagar. ¿Cómo recupero ese dinero?",
        "Puede presentar al SRI una solicitud de devolución por pago en exceso, normalmente después de presentar la declaración anual en la que se refleje el saldo a su favor. La solicitud se hace en línea o en las agencias, adjuntando los respaldos necesarios. En algunos casos también puede compensar ese valor con impuestos futuros, según lo permita la normativa.",
    ),
    (
        "¿Cómo obtengo la clave de SRI en línea?",
        "Puede generar su clave en la página del SRI mediante la validación de identidad en línea, o solicitarla en una agencia presentando su cédula. Para obtenerla debe aceptar el acuerdo de responsabilidad y uso de medios electrónicos. Con esa clave puede declarar, consultar deudas y realizar la mayoría de trámites.",
    ),
    (
        "Cambié la dirección de mi negocio. ¿Debo avisar al SRI?",
        "Sí. Debe actualizar la información de su RUC cuando cambie la dirección, la actividad económica u otros datos importantes, dentro del plazo que establece la normativa. La actualización se puede hacer en SRI en línea o en una agencia. Mantener los datos al día evita problemas con las notificaciones y los comprobantes.",
    ),
    (
        "Cerré mi negocio. ¿Qué hago con mi RUC?",
        "Debe solicitar al SRI la suspensión o cancelación de su RUC, en línea o en una agencia. Antes de hacerlo, verifique que no tenga declaraciones pendientes ni deudas. Si deja el RUC activo sin declarar, se pueden acumular obligaciones y multas.",
    ),
    (
        "¿Puedo pagar mis deudas con el SRI en cuotas?",
        "Sí, el SRI permite solicitar facilidades de pago para deudas tributarias. Por lo general se paga un porcentaje inicial y el saldo se divide en cuotas dentro de un plazo máximo, según las condiciones vigentes. La solicitud se presenta en SRI en línea o en una agencia.",
    ),
    (
        "Soy profesional independiente. ¿Debo cobrar IVA por mis servicios?",
        "En general, los servicios profesionales están gravados con IVA a la tarifa general, por lo que debe incluirlo en sus facturas. Hay excepciones, como algunos servicios de salud o de educación, que tienen tarifa 0 %. Además, debe declarar el IVA y el impuesto a la renta en las fechas que le correspondan según el calendario del SRI.",
    ),
    (
        "Alquilo un departamento para vivienda. ¿Tengo que cobrar IVA por el arriendo?",
        "El arrendamiento de inmuebles destinados exclusivamente a vivienda tiene tarifa 0 % de IVA. En cambio, el arriendo de locales comerciales u oficinas sí grava IVA con la tarifa general. En cualquier caso, los ingresos por arriendo deben declararse en el impuesto a la renta.",
    ),
    (
        "¿Qué hago si un negocio no me quiere entregar factura?",
        "Todo vendedor está obligado a entregar un comprobante de venta válido por cada transacción. Si no se lo entregan, puede exigirlo y, si se niegan, presentar una denuncia ante el SRI, incluso por internet. El incumplimiento reiterado puede llevar a sanciones como la clausura del establecimiento.",
    ),
    (
        "¿Por qué debo pedir factura con mis datos?",
        "Pedir factura con su cédula o RUC le permite usar esas compras como gastos personales en su impuesto a la renta y, cuando aplica, solicitar devoluciones de IVA. Además, ayuda a que los negocios declaren correctamente sus ventas. Puede consultar las facturas electrónicas emitidas a su nombre en SRI en línea.",
    ),
    (
        "¿Cuándo estoy obligado a llevar contabilidad como persona natural?",
        "Las personas naturales deben llevar contabilidad cuando sus ingresos, su capital o sus costos y gastos superan los montos establecidos en la normativa tributaria. En ese caso, la contabilidad debe estar respaldada por un contador registrado. Si no está obligado, basta con llevar un registro de ingresos y gastos.",
    ),
    (
        "¿Cómo verifico si tengo deudas pendientes con el SRI?",
        "Puede consultar sus deudas y obligaciones pendientes ingresando con su clave en SRI en línea. Allí también puede revisar si figura como omiso en alguna declaración. Si encuentra valores pendientes, es recomendable pagarlos cuanto antes para reducir los intereses.",
    ),
    (
        "Vendo productos por redes sociales. ¿Tengo que pagar impuestos?",
        "Sí. Vender por redes sociales es una actividad económica igual que vender en un local, por lo que debe obtener su RUC y emitir comprobantes de venta. Según sus ingresos, podría estar en el RIMPE o en el régimen general. También deberá presentar las declaraciones de IVA y de impuesto a la renta que le correspondan.",
    ),
    (
        "¿Puedo restar el IVA de mis compras del IVA que cobro en mis ventas?",
        "Sí, ese es el crédito tributario de IVA: el IVA que usted pagó en compras relacionadas con su actividad y que puede descontar del IVA que cobra en sus ventas. En la declaración se resta el IVA de las compras del IVA de las ventas y solo se paga la diferencia. Para usarlo, las compras deben estar respaldadas con comprobantes válidos a su nombre.",
    ),
    (
        "¿Las empresas declaran el impuesto a la renta en la misma fecha que las personas naturales?",
        "No. Las sociedades presentan su declaración anual del impuesto a la renta en abril del año siguiente, mientras que las personas naturales lo hacen en marzo. En ambos casos, el día exacto depende del noveno dígito del RUC, según el calendario del SRI.",
    ),
    (
        "Recibí una herencia. ¿Debo declarar algo al SRI?",
        "Sí. Los ingresos provenientes de herencias, legados y donaciones están sujetos al impuesto a la renta y deben declararse en el formulario correspondiente dentro del plazo que fija la normativa. El impuesto depende del valor de lo recibido y puede variar según el grado de parentesco. Es recomendable asesorarse con el SRI o con un profesional tributario.",
    ),
    (
        "¿Cómo pago mis impuestos después de presentar la declaración?",
        "Al presentar la declaración en SRI en línea se genera el valor a pagar. Puede pagarlo mediante débito bancario, si lo autorizó, o en las instituciones financieras y canales autorizados por el SRI. Es importante pagar dentro del plazo para evitar intereses por mora.",
    ),
]


def build_sri() -> list[Record]:
    """Build the 40 SRI tax-law question/answer records in a fixed order."""
    return [rec(q, a) for q, a in SRI_QA]


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def write_jsonl(path: Path, records: list[Record]) -> None:
    """Write records as UTF-8 JSON Lines with ``\\n`` line endings."""
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def validate(records: list[Record], expected: int) -> None:
    """Check the count, schema, non-empty fields and absence of duplicates."""
    if len(records) != expected:
        raise AssertionError(f"expected {expected} records, got {len(records)}")
    keys = set()
    for r in records:
        if list(r) != ["instruction", "input", "output"]:
            raise AssertionError(f"bad keys: {list(r)}")
        if not all(isinstance(v, str) for v in r.values()):
            raise AssertionError(f"non-string value: {r}")
        if not r["instruction"].strip() or not r["output"].strip():
            raise AssertionError(f"empty field: {r}")
        key = (r["instruction"], r["input"])
        if key in keys:
            raise AssertionError(f"duplicate prompt: {r}")
        keys.add(key)


def main() -> None:
    """Generate, validate and write both JSONL files next to this script."""
    sample = build_sample_es()
    sri = build_sri()
    validate(sample, 320)
    validate(sri, 40)
    write_jsonl(SAMPLE_PATH, sample)
    write_jsonl(SRI_PATH, sri)
    with_input = sum(1 for r in sample if r["input"])
    print(f"wrote {SAMPLE_PATH.name}: {len(sample)} records ({len(sample) - with_input} with empty input)")
    print(f"wrote {SRI_PATH.name}: {len(sri)} records")


if __name__ == "__main__":
    main()
